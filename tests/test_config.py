"""helpers.config: the environment switches, the notice log, the network time-out."""

from __future__ import annotations

import json
import socket

from helpers import config


def test_smoke_and_pick(monkeypatch):
    monkeypatch.setenv("NST_SMOKE", "1")
    assert config.smoke() and config.pick(512, 64) == 64
    monkeypatch.setenv("NST_SMOKE", "0")
    assert not config.smoke() and config.pick(512, 64) == 512
    monkeypatch.delenv("NST_SMOKE")
    assert not config.smoke()


def test_offline_flag(monkeypatch):
    for value, expected in [("1", True), ("true", True), ("yes", True), ("0", False), ("", False)]:
        monkeypatch.setenv("NST_OFFLINE", value)
        assert config.offline() is expected


def test_cache_dir_is_created(monkeypatch, tmp_path):
    target = tmp_path / "a" / "b"
    monkeypatch.setenv("NST_CACHE", str(target))
    assert config.cache_dir() == target and target.is_dir()


def test_paths_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(tmp_path / "w.h5"))
    monkeypatch.setenv("NST_HUB_HANDLE", " /models/magenta ")
    assert config.vgg19_weights_file() == tmp_path / "w.h5"
    assert config.hub_handle() == "/models/magenta"
    monkeypatch.delenv("NST_VGG19_WEIGHTS")
    monkeypatch.delenv("NST_HUB_HANDLE")
    assert config.vgg19_weights_file() is None and config.hub_handle() is None


def test_notice_printed_once_and_logged(monkeypatch, tmp_path, capsys):
    log = tmp_path / "models.jsonl"
    monkeypatch.setenv("NST_MODEL_LOG", str(log))
    monkeypatch.setattr(config, "_NOTICES", {})
    config.notice("thing", "used the fallback")
    config.notice("thing", "used the fallback")
    assert capsys.readouterr().out == "[thing] used the fallback\n"
    assert [json.loads(line) for line in log.read_text().splitlines()] == [{"kind": "thing", "message": "used the fallback"}]
    assert config.notices() == {"thing": "used the fallback"}


def test_network_timeout_restores_default():
    before = socket.getdefaulttimeout()
    with config.network_timeout(3):
        assert socket.getdefaulttimeout() == 3
    assert socket.getdefaulttimeout() == before
