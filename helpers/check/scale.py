"""Exercise checks for notebook 09 (training at scale): which crops a worker trains on, and a replica's share of the loss.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``worker_elements(step, global_batch, workers, worker)`` -> the element numbers (a list of ints) that worker
  ``worker`` of ``workers`` trains on at step ``step`` (from 0): of the step's elements ``step * global_batch ...
  step * global_batch + global_batch - 1``, every ``workers``-th one starting at ``worker``. The reference is the
  pipeline itself: ``tf.data.Dataset.range(...).shard(workers, worker).batch(global_batch // workers)``, as in
  helpers.distributed.crop_batches.
* ``replica_loss(per_image_losses, global_batch)`` -> one number: the sum of the replica's per-image losses divided by
  the global batch size, so that the replicas' values (and gradients) add up to the mean over the global batch.
"""

from __future__ import annotations

import numpy as np

from helpers.check._common import NONE, call, compare, report

__all__ = ["worker_elements", "replica_loss"]

#: (step, global batch, workers, worker) cases: one worker, two, four; a later step; a worker other than 0.
_CASES = [(0, 4, 1, 0), (0, 4, 2, 0), (0, 4, 2, 1), (3, 4, 2, 1), (5, 8, 4, 2), (2, 6, 3, 0)]


def _pipeline_elements(step: int, global_batch: int, workers: int, worker: int) -> list[int]:
    """What the real tf.data pipeline hands worker `worker` at `step`: shard, then batch per replica."""
    import tensorflow as tf

    dataset = tf.data.Dataset.range(10_000).shard(workers, worker).batch(global_batch // workers, drop_remainder=True)
    return [int(k) for k in next(iter(dataset.skip(step).take(1))).numpy()]


def worker_elements(fn) -> bool:
    """Check fn(step, global_batch, workers, worker) -> the element numbers that worker trains on at that step."""
    problems: list[str] = []
    for step, batch, workers, worker in _CASES:
        want = _pipeline_elements(step, batch, workers, worker)
        got, error = call(fn, step, batch, workers, worker)
        if error:
            return report("worker_elements", [f"it {error}"])
        if got is None:
            return report("worker_elements", [NONE])
        try:
            got = [int(k) for k in np.asarray(got).reshape(-1)]
        except (TypeError, ValueError):
            return report("worker_elements", [f"returned {type(got).__name__}; return a list of element numbers"])
        if got == want:
            continue
        share = batch // workers
        first = step * batch
        where = f"at step {step} with a global batch of {batch}, worker {worker} of {workers}"
        if sorted(got) == want:
            problems = [f"{where}: the right elements in another order; list them in the order the pipeline takes them"]
        elif got == list(range(first + worker * share, first + (worker + 1) * share)):
            problems = [f"{where}: you gave the worker a contiguous block; the pipeline's shard(n, i) takes every n-th element "
                        f"starting at i, so the worker gets {want}"]
        elif got == [k - first for k in want]:
            problems = [f"{where}: the step's offset is missing; step s starts at element s * global_batch = {first}"]
        elif got == [worker + workers * j + step * share for j in range(share)]:
            problems = [f"{where}: step s starts at element s * global_batch (all workers' elements), not s * the worker's share"]
        elif len(got) != share:
            problems = [f"{where}: {len(got)} elements; a worker trains on global_batch / workers = {share} of them per step"]
        else:
            problems = [f"{where}: got {got}, the pipeline hands this worker {want}"]
        break
    return report("worker_elements", problems)


def replica_loss(fn) -> bool:
    """Check fn(per_image_losses, global_batch) -> sum(per_image_losses) / global_batch."""
    rng = np.random.default_rng(0)
    cases = [(rng.uniform(0.5, 2.0, share).astype(np.float32), share * replicas) for share, replicas in ((2, 2), (3, 4), (4, 1))]
    for losses, global_batch in cases:
        want = float(np.sum(losses)) / global_batch
        got, error = call(fn, losses, global_batch)
        if error:
            return report("replica_loss", [f"it {error}"])
        if got is None:
            return report("replica_loss", [NONE])
        if np.size(got) != 1:
            return report("replica_loss", [f"returned shape {np.shape(got)}; return one number for the replica"])
        got = float(np.asarray(got).reshape(()))
        problems = compare(got, want, rtol=1e-5)
        if not problems:
            continue
        replicas = global_batch // len(losses)
        if np.isclose(got, float(np.mean(losses)), rtol=1e-5):
            problems = [f"this is the mean over the replica's own {len(losses)} images: summed over {replicas} replicas the gradients "
                        f"come out {replicas} times too large; divide the sum by the global batch instead"]
        elif np.isclose(got, float(np.sum(losses)), rtol=1e-5):
            problems = ["this is the sum of the replica's losses: divide it by the global batch, so the replicas add up to its mean"]
        elif np.isclose(got, float(np.mean(losses)) * replicas, rtol=1e-5) or np.isclose(got, float(np.sum(losses)) / replicas, rtol=1e-5):
            problems = ["you divided by the wrong count: the divisor is the global batch size (all replicas' images together)"]
        return report("replica_loss", problems)
    return report("replica_loss", [])
