"""helpers.compare (the measures, the matched inputs), its figures in helpers.viz, and helpers.compare_cli (CSV, command line)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import compare, compare_cli, config, images, viz
from helpers.check import comparison as check_comparison


def _image(h=40, w=48, seed=0):
    """A random [1, h, w, 3] image in [0, 1]."""
    return tf.constant(np.random.default_rng(seed).random((1, h, w, 3), dtype=np.float32))


@pytest.fixture(scope="module")
def judge():
    return compare.Judge("random")


def _write_png(path, h=40, w=48, seed=0):
    arr = (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


# ------------------------------------------------------------------------------------------ measures


def test_identical_images_give_zero_distance(judge):
    a = _image()
    assert compare.histogram_distance(a, a) == 0.0
    assert np.all(compare.difference_map(a, a) == 0.0)
    assert compare.ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert judge.style_loss(a, a) == pytest.approx(0.0, abs=1e-6)
    assert judge.content_loss(a, a) == pytest.approx(0.0, abs=1e-6)


def test_metrics_are_symmetric_where_they_should_be():
    a, b = _image(seed=1), _image(seed=2) * 0.5
    assert compare.histogram_distance(a, b) == pytest.approx(compare.histogram_distance(b, a), abs=1e-12)
    assert compare.histogram_distance(a, b) > 0.1
    assert compare.ssim(a, b) == pytest.approx(compare.ssim(b, a), abs=1e-6)
    assert compare.ssim(a, b) < 0.9
    np.testing.assert_allclose(compare.difference_map(a, b), compare.difference_map(b, a), atol=1e-7)


def test_histogram_distance_has_the_documented_scale():
    black, white = tf.zeros([1, 32, 32, 3]), tf.ones([1, 20, 36, 3])  # different sizes are fine
    assert compare.histogram_distance(black, white) == pytest.approx(63 / 64)
    mid = tf.fill([1, 32, 32, 3], 0.5)
    # moving every pixel by half the range costs about half the maximum
    assert compare.histogram_distance(black, mid) == pytest.approx(32 / 64)
    rows = compare.color_histograms(_image())
    assert rows.shape == (3, compare.HIST_BINS)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)


def test_judge_ranks_a_closer_image_lower(judge):
    content = _image(seed=3)
    yy, xx = np.mgrid[0:40, 0:48]
    stripes = 0.5 + 0.5 * np.sin(np.stack([xx * 0.9, xx * 0.9 + 1.0, yy * 0.4], -1))
    style = tf.constant(stripes[None].astype(np.float32))
    shifted = tf.roll(style, shift=7, axis=2)  # same texture, other place: nearly the same Gram matrices
    assert judge.style_loss(shifted, style) < 0.2 * judge.style_loss(content, style)
    noisy = tf.clip_by_value(content + 0.05 * _image(seed=9), 0.0, 1.0)
    assert 0.0 < judge.content_loss(noisy, content) < judge.content_loss(style, content)
    values = judge.measure(noisy, content, style)
    assert set(values) == {"style_loss", "content_loss", "ssim", "hist_distance"}


def test_outputs_of_another_size_are_resized_before_measuring(judge):
    ramp = np.linspace(0.0, 1.0, 48, dtype=np.float32)
    content = tf.constant(np.stack([np.tile(ramp, (40, 1)), np.tile(ramp[::-1], (40, 1)), np.full((40, 48), 0.5, np.float32)], -1)[None])
    smaller = tf.image.resize(content, (20, 24))
    assert compare.match_size(smaller, content).shape == content.shape
    assert compare.ssim(compare.match_size(smaller, content), content) > 0.9
    assert judge.content_loss(smaller, content) >= 0.0


def test_measures_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"\[1, H, W, 3\]"):
        compare.histogram_distance(tf.zeros([32, 32, 3]), tf.zeros([1, 32, 32, 3]))
    with pytest.raises(ValueError, match="same shape"):
        compare.ssim(tf.zeros([1, 32, 32, 3]), tf.zeros([1, 32, 40, 3]))


# ------------------------------------------------------------------------------------- matched inputs


def test_prepare_style_crops_resizes_and_blurs():
    wide = _image(40, 80)
    style = compare.prepare_style(wide, 32)
    assert style.shape == (1, 32, 32, 3)
    assert float(tf.reduce_min(style)) >= 0.0 and float(tf.reduce_max(style)) <= 1.0
    sharp = compare.prepare_style(wide, 32, blurred=False)
    assert not np.allclose(style, sharp)
    np.testing.assert_allclose(compare.blur(sharp), style, atol=1e-6)
    flat = tf.fill([1, 50, 50, 3], 0.3)
    np.testing.assert_allclose(compare.blur(flat), flat, atol=1e-6)  # the edges average only real pixels
    with pytest.raises(ValueError, match="at least"):
        compare.prepare_style(wide, 8)


def test_parse_methods():
    assert compare.parse_methods("hub,optimizer") == ["hub", "optimizer"]
    assert compare.parse_methods(" Optimizer ") == ["optimizer"]
    with pytest.raises(ValueError, match="gatys"):
        compare.parse_methods("hub,gatys")
    with pytest.raises(ValueError, match="no method"):
        compare.parse_methods(",")


def test_expand_inputs_accepts_folders_and_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _write_png(folder / "b.png")
    _write_png(folder / "a.jpg.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    single = _write_png(tmp_path / "single.png")
    found = compare_cli.expand_inputs([folder, single, single])
    assert [p.name for p in found] == ["a.jpg.png", "b.png", "single.png"]


def test_write_csv_is_atomic_and_parses(tmp_path):
    path = tmp_path / "metrics.csv"
    row = compare.Measurement("a", "s", "hub", 0.5, 1.0, 2.0, 0.3, 0.1, 32, 32, 32, True, "", "m", "j", "images/x.png")
    compare_cli.write_csv([row, row], path)
    parsed = list(csv.DictReader(path.open()))
    assert len(parsed) == 2 and list(parsed[0]) == list(compare_cli.CSV_COLUMNS)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        compare_cli.write_csv([row, {"not_a_column": 1}], path)  # fails half-way through: old file untouched
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_table_and_figures(judge):
    content, style = _image(seed=5), compare.prepare_style(_image(seed=6), 32)
    methods = {"hub": _FakeMethod(0.2), "optimizer": _FakeMethod(0.6)}
    outputs, rows = compare.compare_pair(content, style, methods, judge, content_name="c", style_name="s")
    assert [r.method for r in rows] == ["hub", "optimizer"]
    assert rows[0].judge == judge.description and rows[0].model == "fake"
    text = compare.metrics_table(rows)
    assert "hub" in text and "optimizer" in text and "SSIM" in text
    assert compare.metrics_table(rows, markdown=True).count("\n") == 3
    import matplotlib.pyplot as plt

    for fig in (viz.comparison_figure([(content, style, outputs)], "t"), viz.loss_bars(rows), viz.time_vs_style(rows)):
        assert fig.axes and all(ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>")
        plt.close(fig)


def _own_histograms(image, bins=64):
    """Per-channel normalised histograms [3, bins], written out as the exercise asks."""
    values = np.asarray(image, np.float64).reshape(-1, 3)
    return np.stack([np.histogram(values[:, c], bins=np.linspace(0, 1, bins + 1))[0] / len(values) for c in range(3)])


def _own_distance(a, b, bins=64):
    return float(np.mean(np.abs(np.cumsum(_own_histograms(a, bins), 1) - np.cumsum(_own_histograms(b, bins), 1)).mean(axis=1)))


def test_exercise_check_accepts_the_reference_and_rejects_a_wrong_answer(capsys):
    assert check_comparison.histogram_distance(_own_distance) is True
    assert check_comparison.histogram_distance(lambda a, b, bins=64: compare.histogram_distance(a, b, bins)) is False, \
        "calling the course's version is no answer"
    assert check_comparison.histogram_distance(compare.histogram_distance) is False, "nor is the course's function itself"
    assert "write it yourself" in capsys.readouterr().out
    assert check_comparison.histogram_distance(_own_distance) is True

    def l1_of_histograms(a, b, bins=64):
        return float(np.mean(np.abs(_own_histograms(a, bins) - _own_histograms(b, bins)).sum(axis=1)))

    assert check_comparison.histogram_distance(l1_of_histograms) is False
    out = capsys.readouterr().out
    assert "✓" in out and "✗" in out
    assert "constant factor" not in out and "on every input yours is" not in out  # its error is no constant factor

    def without_cumulative_sums(a, b, bins=64):  # the likeliest mistake: histograms compared bin by bin
        return float(np.mean(np.abs(_own_histograms(a, bins) - _own_histograms(b, bins)).mean(axis=1)))

    assert check_comparison.histogram_distance(without_cumulative_sums) is False
    assert "take the cumulative sums C(k) first" in capsys.readouterr().out
    assert check_comparison.histogram_distance(_own_distance) is True
    assert "cumulative sums" not in capsys.readouterr().out


def test_exercise_check_names_a_factor_only_when_it_is_the_same_on_every_input(capsys):
    def doubled(a, b, bins=64):
        return 2.0 * _own_distance(a, b, bins)

    def squared(a, b, bins=64):  # off by a different factor on each input
        return _own_distance(a, b, bins) ** 2

    assert check_comparison.histogram_distance(doubled) is False
    out = capsys.readouterr().out
    assert "on every input yours is 2 x the reference" in out
    assert check_comparison.histogram_distance(squared) is False
    out = capsys.readouterr().out
    assert "✗" in out and "x the reference" not in out and "factor" not in out

    def unwritten(a, b, bins=64):  # the exercise's stub: 0 everywhere is no factor of anything
        return 0.0

    assert check_comparison.histogram_distance(unwritten) is False
    out = capsys.readouterr().out
    assert "on every input" not in out and "the value differs from the reference by 0.2027" in out


# ------------------------------------------------------------------------------------------ command line


class _FakeMethod:
    """Stands in for a method: blends content and style, optionally failing on chosen calls."""

    def __init__(self, alpha, fail_on=(), interrupt_on=()):
        self.alpha, self.calls, self.fail_on, self.interrupt_on = alpha, 0, fail_on, interrupt_on
        self.steps = None

    def __call__(self, content, style):
        self.calls += 1
        if self.calls in self.interrupt_on:
            raise KeyboardInterrupt
        if self.calls in self.fail_on:
            raise RuntimeError("the model fell over")
        return compare.MethodOutput(self.alpha * compare.match_size(style, content) + (1 - self.alpha) * content, 0.01, "fake")


def _fake_methods(monkeypatch, **fakes):
    monkeypatch.setattr(compare_cli, "make_methods", lambda names, **kw: {n: fakes[n] for n in names})


@pytest.fixture()
def inputs(tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    _write_png(contents / "one.png", 36, 40, 1)
    _write_png(contents / "two.jpg", 40, 36, 2)
    (contents / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    style = _write_png(tmp_path / "style.png", 48, 64, 3)
    return contents, style


def _rows(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_cli_reports_a_broken_file_and_finishes_the_rest(monkeypatch, inputs, tmp_path, capsys):
    contents, style = inputs
    _fake_methods(monkeypatch, hub=_FakeMethod(0.3), optimizer=_FakeMethod(0.7))
    out = tmp_path / "out"
    code = compare_cli.main([str(contents), "--style", str(style), "--out", str(out), "--size", "40", "--style-size", "32",
                         "--no-progress", "--weights", "random"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.png" in captured.err and "not an image" in captured.err
    rows = _rows(out / "metrics.csv")
    assert sorted((r["content"], r["style"], r["method"]) for r in rows) == [
        ("one", "style", "hub"), ("one", "style", "optimizer"), ("two", "style", "hub"), ("two", "style", "optimizer")]
    for r in rows:
        assert (out / r["output"]).is_file()
        assert 0.0 <= float(r["hist_distance"]) <= 1.0 and float(r["style_loss"]) >= 0.0
        assert r["judge"].startswith("VGG19 random")
    assert (out / "grid_style.png").is_file()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_cli_a_failing_run_is_reported_and_the_batch_goes_on(monkeypatch, inputs, tmp_path, capsys):
    contents, style = inputs
    (contents / "broken.png").unlink()
    _fake_methods(monkeypatch, optimizer=_FakeMethod(0.7, fail_on=(1,)))
    out = tmp_path / "out"
    code = compare_cli.main([str(contents), "--style", str(style), "--out", str(out), "--methods", "optimizer", "--size", "40",
                         "--style-size", "32", "--no-progress", "--weights", "random"])
    assert code == 1
    assert "the model fell over" in capsys.readouterr().err
    assert [r["content"] for r in _rows(out / "metrics.csv")] == ["two"]


def test_cli_an_empty_folder_is_reported(monkeypatch, inputs, tmp_path, capsys):
    contents, style = inputs
    empty = tmp_path / "empty"
    empty.mkdir()
    _fake_methods(monkeypatch, hub=_FakeMethod(0.3))
    out = tmp_path / "out"
    code = compare_cli.main([str(contents / "one.png"), str(empty), "--style", str(style), "--out", str(out), "--methods", "hub",
                         "--size", "40", "--style-size", "32", "--no-progress", "--weights", "random"])
    assert code == 1
    assert "empty: folder holds no image files" in capsys.readouterr().err
    assert len(_rows(out / "metrics.csv")) == 1


def test_cli_interrupted_run_keeps_finished_rows(monkeypatch, inputs, tmp_path):
    contents, style = inputs
    _fake_methods(monkeypatch, hub=_FakeMethod(0.3, interrupt_on=(2,)), optimizer=_FakeMethod(0.7))
    out = tmp_path / "out"
    code = compare_cli.main([str(contents / "one.png"), str(contents / "two.jpg"), "--style", str(style), "--out", str(out),
                         "--size", "40", "--style-size", "32", "--no-progress", "--weights", "random"])
    assert code == 130
    rows = _rows(out / "metrics.csv")
    assert [(r["content"], r["method"]) for r in rows] == [("one", "hub"), ("one", "optimizer")]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["a.png", "--out", "o"],  # no --style
        ["a.png", "--style", "s.png"],  # no --out
        ["a.png", "--style", "s.png", "--out", "o", "--methods", "hub,gatys"],
        ["a.png", "--style", "s.png", "--out", "o", "--size", "8"],
        ["a.png", "--style", "s.png", "--out", "o", "--steps", "0"],
        ["a.png", "--style", "s.png", "--out", "o", "--weights", "no_such_file.h5"],
    ],
)
def test_cli_bad_usage_exits_2(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        compare_cli.main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        compare_cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    parser = compare_cli.build_parser()
    for action in parser._actions:
        assert action.help, f"option {action.option_strings or action.dest} has no help"
        for flag in action.option_strings:
            assert flag in text
    for word in ("metrics.csv", "Exit status", "atomically"):
        assert word in text


def test_cli_end_to_end_in_a_subprocess(inputs, tmp_path):
    """The real command: offline Hub model and the optimiser (2 steps) on tiny images, with a broken file among them."""
    contents, style = inputs
    out = tmp_path / "out"
    env = dict(os.environ, NST_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(config.ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.compare_cli", str(contents), "--style", str(style), "--out", str(out),
         "--size", "40", "--style-size", "64", "--steps", "2", "--methods", "hub,optimizer"],
        capture_output=True, text=True, env=env, timeout=300, cwd=str(config.ROOT),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "broken.png" in proc.stderr
    assert "stylising" in proc.stderr  # the progress bar
    rows = _rows(out / "metrics.csv")
    assert sorted((r["content"], r["method"]) for r in rows) == [("one", "hub"), ("one", "optimizer"), ("two", "hub"), ("two", "optimizer")]
    hub_rows = [r for r in rows if r["method"] == "hub"]
    assert all(r["model"] for r in hub_rows) and all("VGG19 packaged weights" in r["model"] for r in rows if r["method"] == "optimizer")
    for r in rows:
        saved = images.load_img(out / r["output"], max_dim=None)
        assert saved.shape[1:3] == (int(r["height"]), int(r["width"]))
        assert float(r["seconds"]) > 0 and -1.0 <= float(r["ssim"]) <= 1.0
    assert (out / "grid_style.png").is_file()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------ timing and early stops


def test_describe_stop_names_an_early_lbfgs_stop():
    assert compare.describe_stop("finished", 10, 10, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT") == "finished"
    text = compare.describe_stop("finished", 3, 10, "ABNORMAL_TERMINATION_IN_LNSRCH")
    assert text.startswith("stopped early after 3 of 10 steps") and "ABNORMAL" in text
    assert "non-finite loss" in compare.describe_stop("non-finite loss", 10, 10)


def test_optimizer_method_reports_an_lbfgs_run_that_ended_early(monkeypatch, judge):
    from helpers import optimize

    def fake_transfer(content, style, **kwargs):
        history = {"step": [0, 1, 2, 3], "total": [1.0, 0.5, 0.4, 0.4], "seconds": [0.5, 0.6, 0.7, 0.8]}
        settings = {"stopped": "finished", "lbfgs_message": "ABNORMAL_TERMINATION_IN_LNSRCH"}
        return optimize.TransferResult(image=content, history=history, settings=settings)

    monkeypatch.setattr(optimize, "transfer", fake_transfer)
    content, style = _image(32, 32, 1), _image(32, 32, 2)
    out = compare.OptimizerMethod(steps=10, weights="random")(content, style)
    assert out.steps_done == 3 and out.stopped.startswith("stopped early after 3 of 10 steps")
    assert "ABNORMAL" in out.model
    row = compare.measure_output(out, content, style, judge, method="optimizer")
    assert row.as_row()["stopped"] == out.stopped
    assert "(stopped early)" in compare.metrics_table([row])
    assert out.setup_seconds == pytest.approx(out.seconds - 0.3, abs=1e-6)


def test_hub_method_warms_up_then_reports_the_median_of_repeats():
    calls = []

    def module(content, style):
        calls.append(1)
        return [content]

    method = compare.HubMethod(module=module, repeats=3)
    content, style = _image(32, 32, 1), _image(32, 32, 2)
    out = method(content, style)
    assert len(calls) == 4 and len(out.timings) == 3  # one untimed warm-up, three timed calls
    assert out.seconds == pytest.approx(float(np.median(out.timings)))
    assert "median of 3" in out.timing
    method(content, style)
    assert len(calls) == 7  # no second warm-up for the same shapes


def test_describe_stop_does_not_repeat_optimize_wording():
    text = compare.describe_stop("lbfgs stopped early: after 3 of 10 iterations: ABNORMAL", 3, 10, "ABNORMAL_TERMINATION_IN_LNSRCH")
    assert text == "stopped early after 3 of 10 steps: ABNORMAL_TERMINATION_IN_LNSRCH"


def test_command_line_help_is_clean_and_the_old_name_points_to_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a reader runs it
    helped = subprocess.run([sys.executable, "-m", "helpers.compare_cli", "--help"], capture_output=True, text=True,
                            timeout=120, cwd=config.ROOT, env=env)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python -m helpers.compare_cli")
    assert "absl" not in helped.stderr + helped.stdout and "cuda" not in (helped.stderr + helped.stdout).lower()
    old = subprocess.run([sys.executable, "-m", "helpers.compare"], capture_output=True, text=True, timeout=120, cwd=config.ROOT)
    assert old.returncode != 0 and "python -m helpers.compare_cli" in old.stderr
