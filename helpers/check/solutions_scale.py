"""Model answers to notebook 09's exercises (open this file only after trying)."""

from __future__ import annotations

import numpy as np


def worker_elements(step, global_batch, workers, worker):
    """Of step `step`'s elements, every `workers`-th one starting at `worker`."""
    first = step * global_batch
    return list(range(first + worker, first + global_batch, workers))


def replica_loss(per_image_losses, global_batch):
    """The replica's per-image losses summed and divided by the global batch (tf.nn.compute_average_loss does the same)."""
    return float(np.sum(per_image_losses)) / global_batch
