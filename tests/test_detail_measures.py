"""The measures notebooks 03 and 06 use for fine detail and for a mask's edge (helpers.compare, end of the module)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import compare


def _image(arr):
    return np.asarray(arr, np.float32)[None]


def test_neighbour_jumps_of_a_flat_image_are_zero_and_a_step_shows():
    flat = _image(np.full((6, 8, 3), 0.4))
    assert compare.neighbour_jumps(flat).shape == (5, 7)
    assert compare.high_frequency_energy(flat) == 0.0
    step = np.zeros((6, 8, 3))
    step[:, 4:] = 1.0
    jumps = compare.neighbour_jumps(_image(step))
    np.testing.assert_allclose(jumps[:, 3], 1.0)   # the jump from column 3 to 4
    assert np.count_nonzero(jumps) == jumps.shape[0]


def test_high_frequency_energy_falls_when_noise_is_smoothed():
    rng = np.random.default_rng(0)
    noise = rng.uniform(size=(32, 32, 3))
    smooth = (noise + np.roll(noise, 1, 0) + np.roll(noise, 1, 1) + np.roll(noise, 1, (0, 1))) / 4
    assert compare.high_frequency_energy(_image(noise)) > 2 * compare.high_frequency_energy(_image(smooth))


def test_edge_jump_measures_only_pairs_across_the_edge():
    mask = np.zeros((1, 10, 10, 1), np.float32)
    mask[:, :, 5:] = 1.0
    picture = np.zeros((10, 10, 3))
    picture[:, 5:] = 0.5                  # a jump of 0.5 exactly at the mask's edge
    picture[::2, :3] += 0.25              # texture away from the edge does not count
    assert compare.edge_jump(_image(picture), mask) == pytest.approx(0.5)
    assert compare.edge_jump(_image(np.full((10, 10, 3), 0.3)), mask) == 0.0


def test_edge_jump_needs_an_edge_and_matching_sizes():
    with pytest.raises(ValueError, match="no edge"):
        compare.edge_jump(_image(np.zeros((8, 8, 3))), np.ones((1, 8, 8, 1)))
    with pytest.raises(ValueError, match="differ in size"):
        compare.edge_jump(_image(np.zeros((8, 8, 3))), np.ones((1, 6, 8, 1)))
