"""helpers.precision and the bfloat16 path: the decision behind "auto", its cache, and what bfloat16 changes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, images, optimize, precision, terms, vgg


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """No decision in memory, an empty cache folder, no NST_PRECISION; measure() counts its calls and returns `timings`."""
    monkeypatch.setattr(precision, "_DECISION", None)
    monkeypatch.setattr(config, "_NOTICES", {})
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    monkeypatch.delenv("NST_PRECISION", raising=False)
    calls = []
    timings = {"float32": 1.0, "bfloat16": 0.3}

    def fake_measure(side=precision.MEASURE_SIDE, repeats=precision.MEASURE_REPEATS):
        calls.append(side)
        return {"side": side, "seconds": dict(timings)}

    monkeypatch.setattr(precision, "measure", fake_measure)
    return calls, timings, tmp_path


@pytest.mark.parametrize(("bf16", "choice"), [(0.3, "bfloat16"), (0.8, "bfloat16"), (0.85, "float32"), (4.0, "float32")])
def test_bfloat16_only_when_clearly_faster(bf16, choice):
    record = precision._decide({"side": 128, "seconds": {"float32": 1.0, "bfloat16": bf16}, "flags": []})
    assert record["choice"] == choice
    assert f"{bf16:.3f} s in bfloat16" in record["why"] and "no native bfloat16" in record["why"]


def test_auto_measures_once_and_keeps_the_answer_per_machine(fresh):
    calls, timings, cache = fresh
    assert precision.resolve("auto") == "bfloat16"
    assert calls == [precision.MEASURE_SIDE]
    kept = json.loads((cache / "precision.json").read_text())
    assert list(kept) == [precision._machine_key()] and kept[precision._machine_key()]["seconds"] == timings
    precision._DECISION = None  # a new process: the answer comes from the file, not a new measurement
    timings["bfloat16"] = 9.0
    decision = precision.choose()
    assert calls == [precision.MEASURE_SIDE] and decision["choice"] == "bfloat16" and "measured earlier" in decision["source"]
    assert precision.choose(refresh=True)["choice"] == "float32" and len(calls) == 2


def test_a_damaged_cache_file_is_measured_again(fresh):
    calls, _, cache = fresh
    (cache / "precision.json").write_text("{not json")
    assert precision.choose()["choice"] == "bfloat16" and len(calls) == 1
    assert json.loads((cache / "precision.json").read_text())


def test_environment_forces_a_precision(fresh, monkeypatch):
    calls, _, _ = fresh
    monkeypatch.setenv("NST_PRECISION", "float32")
    assert precision.resolve("auto") == "float32" and calls == []
    assert precision.resolve("bfloat16") == "bfloat16", "an explicit argument wins over the environment"
    monkeypatch.setenv("NST_PRECISION", "half")
    with pytest.raises(ValueError, match="NST_PRECISION='half'"):
        precision.resolve("auto")


def test_the_auto_notice_says_what_and_why(fresh, capsys):
    precision.resolve("auto")
    assert "[precision] auto chose bfloat16: one VGG19 pass at 128 px took 1.000 s in float32 and 0.300 s" in capsys.readouterr().out
    assert config.notices()["precision"].startswith("auto chose bfloat16")


def test_unknown_precisions_are_refused():
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        precision.resolve("float16")
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        vgg.StyleContentModel(precision="auto")
    with pytest.raises(optimize.TransferError, match="Network.precision = 'fp16'"):
        optimize.transfer("astronaut", "swirls", network=optimize.Network(precision="fp16"))
    with pytest.raises(optimize.TransferError, match="Network.recompute = 'yes'"):
        optimize.transfer("astronaut", "swirls", network=optimize.Network(recompute="yes"))


def test_real_measurement_times_both_precisions():
    record = precision.measure(side=32, repeats=1)
    assert record["side"] == 32 and set(record["seconds"]) == {"float32", "bfloat16"}
    assert all(0 < s < 60 for s in record["seconds"].values())


def test_bfloat16_features_are_float32_and_close_to_float32s():
    image = images.load_example("astronaut", 48)
    out32 = vgg.StyleContentModel()(image)
    out16 = vgg.StyleContentModel(precision="bfloat16")(image)
    for kind in ("style", "content"):
        for name, value in out16[kind].items():
            assert value.dtype == tf.float32, "losses are computed in float32"
            reference = out32[kind][name].numpy()
            rel = np.linalg.norm(value.numpy() - reference) / np.linalg.norm(reference)
            assert 0 < rel < 0.1, (kind, name, rel)  # rounded (so not identical), but the same features


def test_average_pooling_runs_in_bfloat16():
    image = tf.constant(images.load_example("cat", 32))
    model = vgg.StyleContentModel(pooling="avg", precision="bfloat16")
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.add_n([tf.reduce_mean(g) for g in model(image)["style"].values()])
    grad = tape.gradient(loss, image)
    assert grad.dtype == tf.float32 and float(tf.reduce_max(tf.abs(grad))) > 0


def test_recomputation_changes_memory_not_results():
    image = tf.constant(images.load_example("cat", 48))

    def loss_and_grad(model):
        with tf.GradientTape() as tape:
            tape.watch(image)
            out = model(image)
            loss = tf.add_n([tf.reduce_sum(g) for g in out["style"].values()] + [tf.reduce_sum(f) for f in out["content"].values()])
        return float(loss), tape.gradient(loss, image).numpy()

    plain, grad_plain = loss_and_grad(vgg.StyleContentModel())
    recomputed, grad_recomputed = loss_and_grad(vgg.StyleContentModel(recompute=True))
    assert recomputed == pytest.approx(plain, rel=1e-6)
    np.testing.assert_allclose(grad_recomputed, grad_plain, rtol=1e-4, atol=1e-6 * np.abs(grad_plain).max())


def test_transfer_in_bfloat16_records_float32_losses():
    content, style = images.load_example("astronaut", 48), images.load_example("swirls", 48)
    result = optimize.transfer(content, style, steps=8, network=optimize.Network(precision="bfloat16"), progress=False)
    assert result.settings["precision"] == "bfloat16"
    assert all(isinstance(v, float) and np.isfinite(v) for v in result.history["total"])
    assert result.history["total"][-1] < result.history["total"][0]
    scored = optimize.evaluate(result.image, content, style)
    assert scored["total"] == pytest.approx(scored["style"] + scored["content"] + scored["tv"], rel=1e-5)
    # the float32 objective of the bfloat16 result is close to, but not the same number as, its own last loss
    assert scored["total"] == pytest.approx(result.history["total"][-1], rel=0.1)
    assert scored["total"] != result.history["total"][-1]


def test_evaluate_matches_a_float32_runs_own_history():
    content, style = images.load_example("astronaut", 48), images.load_example("swirls", 48)
    result = optimize.transfer(content, style, steps=3, network=optimize.Network(precision="float32"), progress=False)
    assert result.settings["precision"] == "float32"
    # the history's last entry is the loss of the last iterate, which is the returned image
    assert optimize.evaluate(result.image, content, style)["total"] == pytest.approx(result.history["total"][-1], rel=1e-4)


def test_evaluate_scores_terms_as_a_run_of_them_records():
    content, style = images.load_example("astronaut", 48), images.load_example("swirls", 48)
    style_term = terms.Style(style, weight=1e-2, layers=["block1_conv1", "block2_conv1"])
    result = optimize.transfer(content, style_term, steps=3, network=optimize.Network(precision="float32"), progress=False)
    scored = optimize.evaluate(result.image, content, style_term)
    assert set(scored) == {"total", *result.settings["names"]}
    assert scored["total"] == pytest.approx(result.history["total"][-1], rel=1e-4)
    assert scored["total"] == pytest.approx(sum(v for k, v in scored.items() if k != "total"), rel=1e-5)


def test_evaluate_loads_names_at_the_images_size_and_refuses_another_size():
    content = images.load_example("astronaut", 64)
    by_name = optimize.evaluate(content, "astronaut", "swirls")
    assert by_name["content"] == pytest.approx(0.0, abs=1e-6)  # the photo against itself, loaded at 64 px
    with pytest.raises(optimize.TransferError, match=r"image.*evaluate an image at the content's size"):
        optimize.evaluate(content, images.load_example("astronaut", 48), "swirls")
    with pytest.raises(TypeError):
        optimize.evaluate(content, "astronaut", "swirls", max_dim=64)  # the old keywords are gone: network= and terms as in transfer


def test_the_setup_line_gives_the_choice_then_why(monkeypatch):
    from helpers import environment

    decision = {"choice": "bfloat16", "why": "timed; this CPU reports amx_bf16", "seconds": {"float32": 1.0, "bfloat16": 0.25},
                "side": 128, "ratio": 0.25, "source": "measured just now, kept in the cache"}
    monkeypatch.setattr(precision, "choose", lambda refresh=False: decision)
    line = environment.precision_line()
    assert line == ("VGG19 precision: bfloat16. Why: bfloat16 was 4.00x faster here, in one timed VGG19 pass at 128 px. bfloat16 is "
                    "a 16-bit number format that keeps about 3 significant digits, so the losses printed in the notebooks differ from "
                    "a float32 machine's from the third digit on; cells that show an equivalence compute in float32."), line
    monkeypatch.setattr(precision, "choose", lambda refresh=False: dict(decision, choice="float32", ratio=4.0))
    assert environment.precision_line().startswith("VGG19 precision: float32. Why: bfloat16 was 4.00x slower here")


def test_the_environment_report_gives_the_precision_in_a_few_words(monkeypatch):
    from helpers import environment

    decision = {"choice": "bfloat16", "why": "timed", "seconds": {"float32": 1.0, "bfloat16": 0.25}, "side": 128, "ratio": 0.25,
                "source": "measured just now"}
    monkeypatch.setattr(precision, "choose", lambda refresh=False: decision)
    assert environment.precision_summary() == "bfloat16 (bfloat16 was 4.0x faster here; timed once per machine, kept in the course's cache)"
    monkeypatch.setattr(precision, "choose", lambda refresh=False: {"choice": "float32", "why": "NST_PRECISION=float32 is set"})
    assert environment.precision_summary() == "float32 (NST_PRECISION=float32 is set)"
