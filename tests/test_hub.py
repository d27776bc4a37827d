"""Loading the Hub model: resolution order, time-outs, stale-cache repair, the offline fallback, export and prefetch.
The network is never used: tensorflow_hub.load is replaced by fakes."""

from __future__ import annotations

import hashlib
import socket
import time
import urllib.error

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, hub, images


class FakeHub:
    """Stands in for a loaded Hub module."""

    def __init__(self, handle):
        self.handle = handle

    def __call__(self, content, style):
        return [tf.identity(content)]


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Pretend the network may be used; keep the course cache and the tensorflow_hub cache in tmp_path."""
    monkeypatch.setenv("NST_OFFLINE", "0")
    monkeypatch.delenv("NST_HUB_HANDLE", raising=False)
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setattr(config, "_NOTICES", {})
    return tmp_path


def _fake_loader(monkeypatch, behaviour):
    """Replace hub._hub_load; `behaviour(handle)` returns a module or raises. Returns the list of handles tried."""
    calls = []

    def fake(handle):
        calls.append(handle)
        return behaviour(handle)

    monkeypatch.setattr(hub, "_hub_load", fake)
    return calls


def _unreachable(handle):
    raise urllib.error.URLError("Name or service not known")


def test_candidates_order(online, monkeypatch):
    labels = [h for _, h in hub.candidates()]
    assert labels == [hub.KAGGLE_HANDLE, hub.TFHUB_HANDLE, hub.MIRROR_HANDLE, hub.OFFLINE]
    monkeypatch.setenv("NST_HUB_HANDLE", "https://example.org/model/1")
    assert [h for _, h in hub.candidates()][0] == "https://example.org/model/1"
    assert [h for _, h in hub.candidates("/some/folder")][0] == "/some/folder"
    assert hub.candidates("offline") == [("offline model", hub.OFFLINE)]
    monkeypatch.setenv("NST_OFFLINE", "1")
    assert hub.candidates("https://example.org/model/1") == [("offline model", hub.OFFLINE)]


def test_falls_through_to_the_mirror(online, monkeypatch, capsys):
    calls = _fake_loader(monkeypatch, lambda h: FakeHub(h) if h == hub.MIRROR_HANDLE else _unreachable(h))
    module = hub.load_hub_module()
    assert calls == [hub.KAGGLE_HANDLE, hub.TFHUB_HANDLE, hub.MIRROR_HANDLE]
    assert module.handle == hub.MIRROR_HANDLE and "mirror" in module.source
    out = capsys.readouterr().out
    assert out.count("[hub]") == 1 and "URLError" in out
    x = tf.zeros((1, 8, 8, 3))
    assert module(x, x)[0].shape == (1, 8, 8, 3)


def test_explicit_handle_comes_first(online, monkeypatch):
    calls = _fake_loader(monkeypatch, lambda h: FakeHub(h))
    module = hub.load_hub_module("https://example.org/model/1")
    assert calls == ["https://example.org/model/1"] and module.handle == "https://example.org/model/1"


def test_everything_unreachable_gives_the_offline_model(online, monkeypatch, capsys):
    calls = _fake_loader(monkeypatch, _unreachable)
    module = hub.load_hub_module()
    assert len(calls) == 3
    assert module.is_offline and "offline Magenta" in module.source
    assert "not loaded" in capsys.readouterr().out
    assert module.predict_style(tf.random.uniform((1, 64, 64, 3), seed=0)).shape == (1, 1, 1, 100)


def test_offline_switches_skip_the_network(monkeypatch, capsys):
    monkeypatch.setattr(config, "_NOTICES", {})
    calls = _fake_loader(monkeypatch, lambda h: FakeHub(h))
    assert hub.load_hub_module().is_offline  # NST_OFFLINE=1 in the test session
    monkeypatch.setenv("NST_OFFLINE", "0")
    assert hub.load_hub_module("offline").is_offline
    assert calls == []
    assert "handle='offline'" in capsys.readouterr().out


def test_a_hanging_download_times_out(online, monkeypatch):
    seen = []

    def slow(handle):
        seen.append(socket.getdefaulttimeout())
        time.sleep(3)
        return FakeHub(handle)

    _fake_loader(monkeypatch, slow)
    module = hub.load_hub_module(timeout=0.2)
    assert module.is_offline
    assert seen == [0.2, 0.2, 0.2]  # every socket in each attempt is limited to the time-out
    assert "gave up after 0.2 s" in config.notices()["hub"]


def _stale_message(folder):
    return (
        "Trying to load a model of incompatible/unknown type. "
        f"'{folder}' contains neither 'saved_model.pb' nor 'saved_model.pbtxt'."
    )


def test_stale_cache_folder_is_removed_and_the_load_retried(online, monkeypatch):
    folder = hub.hub_cache_dir() / hashlib.sha1(hub.KAGGLE_HANDLE.encode()).hexdigest()
    attempts = []

    def flaky(handle):
        attempts.append(handle)
        if len(attempts) == 1:  # a download that was cut off leaves a folder without saved_model.pb
            (folder / "variables").mkdir(parents=True)
            raise ValueError(_stale_message(folder))
        assert not folder.exists(), "the stale folder should be gone before the retry"
        return FakeHub(handle)

    _fake_loader(monkeypatch, flaky)
    module = hub.load_hub_module()
    assert attempts == [hub.KAGGLE_HANDLE, hub.KAGGLE_HANDLE]
    assert module.handle == hub.KAGGLE_HANDLE


def test_stale_cache_found_before_loading(online, monkeypatch):
    folder = hub.hub_cache_dir() / hashlib.sha1(hub.KAGGLE_HANDLE.encode()).hexdigest()
    (folder / "variables").mkdir(parents=True)
    _fake_loader(monkeypatch, lambda h: FakeHub(h) if not folder.exists() else pytest.fail("stale folder not removed"))
    assert hub.load_hub_module().handle == hub.KAGGLE_HANDLE


def test_cache_that_stays_broken_is_named(online, monkeypatch):
    folder = online / "broken"

    def always_stale(handle):
        folder.mkdir(exist_ok=True)
        raise ValueError(_stale_message(folder))

    _fake_loader(monkeypatch, always_stale)
    module = hub.load_hub_module()
    assert module.is_offline
    assert str(folder) in config.notices()["hub"]


def test_local_folder_without_saved_model_is_named(online, monkeypatch):
    empty = online / "empty_model"
    empty.mkdir()
    _fake_loader(monkeypatch, _unreachable)
    assert hub.load_hub_module(str(empty)).is_offline
    assert "empty_model" in config.notices()["hub"] and "saved_model.pb" in config.notices()["hub"]


def test_prefetch_copies_into_the_course_cache(online, monkeypatch):
    import tensorflow_hub

    downloaded = online / "downloaded"
    downloaded.mkdir()
    (downloaded / "saved_model.pb").write_bytes(b"fake")
    monkeypatch.setattr(tensorflow_hub, "resolve", lambda h: str(downloaded))
    target = hub.prefetch()
    assert target == hub.prefetched_path() and (target / "saved_model.pb").read_bytes() == b"fake"
    assert config.cache_dir() in target.parents
    assert hub.candidates()[0] == ("prefetched copy", str(target))
    calls = _fake_loader(monkeypatch, lambda h: FakeHub(h))
    assert hub.load_hub_module().handle == str(target) and calls == [str(target)]
    monkeypatch.setenv("NST_OFFLINE", "1")
    with pytest.raises(hub.HubLoadError, match="NST_OFFLINE"):
        hub.prefetch(online / "other")


def test_export_offline_model_round_trip(tmp_path):
    import tensorflow_hub

    content = images.load_example("astronaut", max_dim=48)
    style = images.load_example("waves", max_dim=64)
    module = hub.load_hub_module("offline")
    want = module(tf.constant(content), tf.constant(style))[0].numpy()
    path = hub.export_offline_model(tmp_path / "magenta")
    loaded = tensorflow_hub.load(str(path))
    got = loaded(tf.constant(content), tf.constant(style))[0].numpy()
    assert got.shape == want.shape == content.shape
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(hub.HubLoadError, match="not empty"):
        hub.export_offline_model(path)


def test_broken_local_saved_model_falls_back(online, monkeypatch):
    broken = online / "broken_model"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a protobuf")

    def loader(handle):
        if handle == str(broken):
            raise ValueError("Error parsing message")
        return _unreachable(handle)

    _fake_loader(monkeypatch, loader)
    assert hub.load_hub_module(str(broken)).is_offline
    assert "could not be loaded" in config.notices()["hub"]
