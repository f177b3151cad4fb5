"""The numpy layer of the pictures: grid geometry, KL order, traversal values,
animation cycles and factor heat-map averaging, against hand computations."""

import statistics

import numpy as np
import pytest

from tfdisvae.viz import grids


def test_tile_geometry_and_untile_round_trip():
    rng = np.random.default_rng(0)
    cells = rng.uniform(size=(3, 4, 5, 7, 1)).astype(np.float32)
    grid = grids.tile(cells, pad=2)
    # 3 rows of 5 px + 2 gaps of 2 px; 4 columns of 7 px + 3 gaps of 2 px.
    assert grid.shape == (3 * 5 + 2 * 2, 4 * 7 + 3 * 2, 1)
    assert grids.grid_shape(3, 4, (5, 7), 2) == grid.shape[:2]
    np.testing.assert_array_equal(grids.untile(grid, 3, 4, (5, 7), 2), cells)
    # Cell (2, 1) starts at y = 2*(5+2) = 14, x = 1*(7+2) = 9; the gaps hold the pad value.
    np.testing.assert_array_equal(grid[14:19, 9:16], cells[2, 1])
    assert np.all(grid[5:7, :] == grids.PAD_VALUE) and np.all(grid[:, 7:9] == grids.PAD_VALUE)


def test_kl_order_is_decreasing_stable_and_truncated():
    kl = np.array([0.1, 3.0, 0.0, 3.0, 1.5])
    np.testing.assert_array_equal(grids.kl_order(kl), [1, 3, 4, 0, 2])
    np.testing.assert_array_equal(grids.kl_order(kl, top_k=2), [1, 3])
    with pytest.raises(ValueError, match="top_k"):
        grids.kl_order(kl, top_k=0)


def test_mean_kl_per_latent_matches_closed_form_and_tf():
    from tfdisvae.objectives.decomposition import kl_per_latent

    # KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, e^-2) || N(0, 1)) = (e^-2 - 1 + 2)/2.
    mean = np.array([[1.0, 0.0], [1.0, 0.0]])
    log_var = np.array([[0.0, -2.0], [0.0, -2.0]])
    expected = [0.5, 0.5 * (np.exp(-2.0) + 1.0)]
    np.testing.assert_allclose(grids.mean_kl_per_latent(mean, log_var), expected, rtol=1e-12)
    rng = np.random.default_rng(1)
    mean, log_var = rng.normal(size=(2, 16, 5))
    np.testing.assert_allclose(grids.mean_kl_per_latent(mean, log_var),
                               np.mean(kl_per_latent(mean, log_var).numpy(), axis=0), rtol=1e-5)


def test_traversal_values_and_codes_change_only_the_traversed_latent():
    values = grids.traversal_values(2.0, 5)
    np.testing.assert_allclose(values, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(grids.traversal_values((0.0, 1.0), 3), [0, 0.5, 1])
    base = np.array([0.3, -0.7, 1.1], np.float32)
    codes = grids.traversal_codes(base, [2, 0], values)
    assert codes.shape == (2, 5, 3)
    np.testing.assert_array_equal(codes[0, :, 2], values)
    np.testing.assert_array_equal(codes[1, :, 0], values)
    np.testing.assert_array_equal(codes[0, :, :2], np.broadcast_to(base[:2], (5, 2)))
    np.testing.assert_array_equal(codes[1, :, 1:], np.broadcast_to(base[1:], (5, 2)))
    for bad in (0.0, (1.0, 1.0)):
        with pytest.raises(ValueError, match="span"):
            grids.traversal_values(bad, 5)


def test_cycle_interval_is_a_round_trip_from_the_start():
    values = grids.cycle_interval(0.4, 41, -2.0, 2.0)
    # Start 0.4 is 6/10 of the way: 8 steps of 0.2 up to 2, 20 down to -2, 12 back up to 0.4.
    assert values[0] == pytest.approx(0.4) and values[-1] == pytest.approx(0.4)
    assert values[8] == pytest.approx(2.0) and values[28] == pytest.approx(-2.0)
    assert values.max() == pytest.approx(2.0) and values.min() == pytest.approx(-2.0)
    np.testing.assert_allclose(np.abs(np.diff(values)), 0.2, atol=1e-5)
    # A start between frames of the extremes never overshoots the interval.
    other = grids.cycle_interval(0.5, 41, -2.0, 2.0)
    assert other.max() <= 2.0 and other.min() >= -2.0 and other[0] == pytest.approx(0.5)


def test_cycle_gaussian_walks_quantiles_between_the_clips():
    values = grids.cycle_gaussian(1.0, 21, loc=1.0, scale=2.0)
    normal = statistics.NormalDist(1.0, 2.0)
    # From the median, probabilities 0.5, 0.6, ..., 1 (clipped to 0.999), down to 0 (0.001), back.
    assert values[0] == pytest.approx(1.0, abs=1e-6) and values[-1] == pytest.approx(1.0, abs=1e-6)
    assert values[5] == pytest.approx(normal.inv_cdf(0.999), rel=1e-5)
    assert values.min() == pytest.approx(normal.inv_cdf(1e-3), rel=1e-5)
    assert values.max() == pytest.approx(normal.inv_cdf(1 - 1e-3), rel=1e-5)
    # The probabilities, not the values, move in equal steps.
    probs = np.array([normal.cdf(float(v)) for v in values])
    steps = np.abs(np.diff(probs))
    interior = (probs[1:] > 2e-3) & (probs[1:] < 1 - 2e-3) & (probs[:-1] > 2e-3) & \
        (probs[:-1] < 1 - 2e-3)
    np.testing.assert_allclose(steps[interior], 0.1, atol=1e-5)


def test_animation_value_ranges_per_mode():
    means = np.array([-1.0, 0.0, 1.0, 2.0])
    m, s = means.mean(), means.std()
    ranges = {"fixed_interval_cycle": (-2.0, 2.0), "conf_interval_cycle": (m - 2 * s, m + 2 * s),
              "minmax_interval_cycle": (-1.0, 2.0)}
    for mode, (low, high) in ranges.items():
        values = grids.animation_values(mode, 0.5, means, num_frames=81)
        assert values.min() == pytest.approx(low, abs=1e-5), mode
        assert values.max() == pytest.approx(high, abs=1e-5), mode
        assert values[0] == pytest.approx(0.5, abs=1e-5), mode
    # Starting at each Gaussian's median, frame 10 of 41 reaches the top clip (probability 0.999).
    std = grids.animation_values("std_gaussian_cycle", 0.0, means, 41)
    fitted = grids.animation_values("fitted_gaussian_cycle", m, means, 41)
    assert std.max() == pytest.approx(statistics.NormalDist().inv_cdf(0.999), rel=1e-5)
    assert fitted.max() == pytest.approx(statistics.NormalDist(m, s).inv_cdf(0.999), rel=1e-5)
    with pytest.raises(ValueError, match="std_gaussian_cycle"):
        grids.animation_values("sine", 0.0, means)
    # A latent whose means are all equal (collapsed) has a one-point min-max interval: it stays there.
    still = grids.animation_values("minmax_interval_cycle", 0.25, np.full(4, 0.3), num_frames=9)
    np.testing.assert_array_equal(still, np.full(9, 0.3, np.float32))


def test_factor_grid_classes_and_cell_means():
    rng = np.random.default_rng(3)
    sizes = (3, 4, 5)
    classes, cells = grids.factor_grid_classes(sizes, (2, 0), others=6, rng=rng)
    assert classes.shape == (5 * 3 * 6, 3) and cells.shape == (5 * 3 * 6, 2)
    np.testing.assert_array_equal(classes[:, 2], cells[:, 0])
    np.testing.assert_array_equal(classes[:, 0], cells[:, 1])
    # Every cell sees the same draws of the other factor (common random numbers).
    per_cell = classes[:, 1].reshape(5, 3, 6)
    assert np.all(per_cell == per_cell[0, 0])
    # A value that is 10*a + b averages to exactly that over each cell; a value of the other factor
    # averages to the same number in every cell.
    values = np.stack([10.0 * classes[:, 2] + classes[:, 0], classes[:, 1]], axis=1)
    means = grids.cell_means(values, cells, (5, 3))
    a, b = np.meshgrid(np.arange(5), np.arange(3), indexing="ij")
    np.testing.assert_allclose(means[0], 10.0 * a + b)
    np.testing.assert_allclose(means[1], np.full((5, 3), per_cell[0, 0].mean()))
