"""Notebook 09's exercise checks accept the model answers and name typical mistakes."""

from __future__ import annotations

import numpy as np

from helpers import check
from helpers.check import solutions_scale as solutions


def test_worker_elements_accepts_the_answer_and_names_mistakes(capsys):
    assert check.worker_elements(solutions.worker_elements) is True
    share = lambda b, n: b // n  # noqa: E731
    assert check.worker_elements(lambda s, b, n, i: list(range(s * b + i * share(b, n), s * b + (i + 1) * share(b, n)))) is False
    assert "contiguous block" in capsys.readouterr().out
    assert check.worker_elements(lambda s, b, n, i: list(range(i, b, n))) is False
    assert "offset is missing" in capsys.readouterr().out
    assert check.worker_elements(lambda s, b, n, i: [i + n * j + s * share(b, n) for j in range(share(b, n))]) is False
    assert "not s * the worker's share" in capsys.readouterr().out
    assert check.worker_elements(lambda s, b, n, i: None) is False
    assert "returned None" in capsys.readouterr().out


def test_replica_loss_accepts_the_answer_and_names_mistakes(capsys):
    assert check.replica_loss(solutions.replica_loss) is True
    assert check.replica_loss(lambda losses, b: float(np.mean(losses))) is False
    assert "replica's own" in capsys.readouterr().out
    assert check.replica_loss(lambda losses, b: float(np.sum(losses))) is False
    assert "sum of the replica's losses" in capsys.readouterr().out
    assert check.replica_loss(lambda losses, b: np.array([1.0, 2.0])) is False
    assert "one number" in capsys.readouterr().out


def test_the_reference_is_the_pipeline_of_crop_batches():
    # the check compares with tf.data's shard-then-batch, which is what distributed.crop_batches does per worker
    from helpers.check.scale import _pipeline_elements

    assert _pipeline_elements(1, 4, 2, 1) == [5, 7]
    assert _pipeline_elements(0, 4, 1, 0) == [0, 1, 2, 3]
