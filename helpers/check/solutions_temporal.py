"""Model answers to notebook 08's exercises (open this file only after trying)."""

from __future__ import annotations

import numpy as np


def frame_warping_error(frame, warped_previous, mask):
    """Mean squared difference over the reliable pixels and the three channels."""
    return float(np.mean(np.square(np.asarray(frame) - np.asarray(warped_previous))[np.asarray(mask, bool)]))


def blend_frame(frame, warped_previous, mask, alpha):
    """(1 - alpha) * frame + alpha * warped_previous where the flow is reliable, the frame elsewhere."""
    mask = np.asarray(mask, bool)[..., None]
    return np.where(mask, (1 - alpha) * np.asarray(frame) + alpha * np.asarray(warped_previous), np.asarray(frame))
