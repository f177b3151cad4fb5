"""The poster's MI estimator against exact 1-D integrals on a tiny grid; its invariances; the ground-truth
entry point on synthetic codes (factors, rotated factors, noise)."""

import math

import numpy as np
import pytest
from metrics_synthetic_truth import SIZES, classes_of, grid_factors, make_data

from tfdisvae import metrics
from tfdisvae.metrics.mutual_information import stratified_points

TINY = (2, 3, 4)


def _tiny_posteriors(seed=1):
    grid = grid_factors(TINY)
    rng = np.random.default_rng(seed)
    n = len(grid)
    means = np.stack([grid[:, 0] + 0.1 * grid[:, 1], 0.7 * grid[:, 1] - 0.3 * grid[:, 2],
                      0.5 * rng.standard_normal(n)], axis=1)
    stds = np.stack([np.full(n, 0.3), rng.uniform(0.05, 0.5, n), np.ones(n)], axis=1)
    return grid, means, 2 * np.log(stds)


def _exact_mi(means, log_vars, factors):
    """I[z_j; v_k] by trapezoidal integration of the complete 1-D mixtures on a fine grid."""
    num, dim = means.shape
    out = np.zeros((factors.shape[1], dim))
    for j in range(dim):
        std = np.exp(0.5 * log_vars[:, j])
        z = np.linspace((means[:, j] - 10 * std).min(), (means[:, j] + 10 * std).max(), 40001)
        dens = np.exp(-0.5 * ((z[None] - means[:, j:j + 1]) / std[:, None]) ** 2) / (
            std[:, None] * math.sqrt(2 * math.pi))

        def entropy(rows, dens=dens, z=z):
            q = dens[rows].mean(axis=0)
            q = np.where(q > 0, q, 1.0)
            return -np.trapezoid(q * np.log(q), z)

        h = entropy(np.arange(num))
        for k in range(factors.shape[1]):
            cond = sum(np.mean(factors[:, k] == v) * entropy(factors[:, k] == v)
                       for v in np.unique(factors[:, k]))
            out[k, j] = h - cond
    return out


def test_estimator_matches_exact_mixture_integrals_on_a_tiny_grid():
    grid, means, log_vars = _tiny_posteriors()
    exact = _exact_mi(means, log_vars, grid)
    est = metrics.estimate_mutual_information(means, log_vars, grid, TINY, num_samples=24 * 1500,
                                              num_components=None, seed=0)
    assert est.mi.shape == (3, 3)
    assert exact[0, 0] > 0.5 and exact[1, 1] > 0.4  # informative pairs, to be matched closely
    np.testing.assert_allclose(est.mi, exact, atol=0.006)
    np.testing.assert_allclose(est.factor_entropy, np.log(TINY), atol=1e-12)
    assert est.num_components == 24


def test_component_subsampling_converges_to_exact_as_components_grow():
    """The stratified component subsample is unbiased for q but log q̂ is biased low (Jensen), more so
    for the conditionals (M/|V_k| components each): the error shrinks like 1/M."""
    sizes = (3, 4, 5, 6)
    grid = grid_factors(sizes)                       # 360 points
    rng = np.random.default_rng(2)
    means = np.concatenate([grid / (np.array(sizes) - 1.0), rng.standard_normal((360, 2))], axis=1)
    log_vars = np.full_like(means, 2 * math.log(0.2))
    exact = metrics.estimate_mutual_information(means, log_vars, grid, sizes, num_samples=3000,
                                                num_components=None, seed=1).mi
    assert np.all(np.diag(exact[:, :4]) > 0.3)      # each factor's own latent is informative
    errors = []
    for m in (60, 180, 300):
        sub = metrics.estimate_mutual_information(means, log_vars, grid, sizes, num_samples=3000,
                                                  num_components=m, seed=1)
        assert sub.num_components == m
        errors.append(np.abs(sub.mi - exact).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.05
    np.testing.assert_allclose(np.diag(sub.mi[:, :4]), np.diag(exact[:, :4]), atol=0.02)


def test_rescaling_a_latent_leaves_the_mi_unchanged_and_permuting_permutes_it():
    grid, means, log_vars = _tiny_posteriors()
    base = metrics.estimate_mutual_information(means, log_vars, grid, TINY, num_samples=4000, seed=5)
    scaled_means = means * np.array([3.0, 0.2, 1.0])
    scaled_lv = log_vars + 2 * np.log([3.0, 0.2, 1.0])
    scaled = metrics.estimate_mutual_information(scaled_means, scaled_lv, grid, TINY,
                                                 num_samples=4000, seed=5)
    np.testing.assert_allclose(scaled.mi, base.mi, atol=2e-4)
    np.testing.assert_allclose(scaled.marginal_entropy - base.marginal_entropy,
                               np.log([3.0, 0.2, 1.0]), atol=2e-4)
    perm = [2, 0, 1]
    permuted = metrics.estimate_mutual_information(means[:, perm], log_vars[:, perm], grid, TINY,
                                                   num_samples=24 * 1500, seed=5)
    exact = _exact_mi(means, log_vars, grid)
    np.testing.assert_allclose(permuted.mi, exact[:, perm], atol=0.006)
    for est in (base, permuted):
        for name in ("mig", "aam"):
            assert metrics.poster_scores(est)[name] == pytest.approx(
                metrics.poster_scores(permuted)[name], abs=0.02)


def test_constant_factors_are_left_out_and_bad_input_is_named():
    grid = grid_factors((1, 3, 4))
    means = np.stack([grid[:, 1], grid[:, 2]], axis=1).astype(float)
    log_vars = np.full_like(means, -4.0)
    est = metrics.estimate_mutual_information(means, log_vars, grid, (1, 3, 4), num_samples=600)
    assert est.factor_indices.tolist() == [1, 2]
    assert est.mi.shape == (2, 2)
    with pytest.raises(ValueError, match="shape of posterior_means"):
        metrics.mutual_information(means, log_vars[:, :1], grid)
    with pytest.raises(TypeError, match="integer class indices"):
        metrics.mutual_information(means, log_vars, grid.astype(float))
    with pytest.raises(ValueError, match="NaN or Inf"):
        metrics.mutual_information(means * np.nan, log_vars, grid)
    with pytest.raises(ValueError, match="below the largest factor"):
        metrics.mutual_information(means, log_vars, grid, num_components=2)


def test_stratified_points_balance_every_factor_of_a_grid():
    grid = grid_factors(SIZES)
    rows = stratified_points(grid, SIZES, 240, np.random.default_rng(0))
    for k, size in enumerate(SIZES):
        counts = np.bincount(grid[rows, k], minlength=size)
        assert counts.max() - counts.min() <= 1


def _posterior_fn(code_fn, std):
    def fn(images):
        codes = code_fn(classes_of(images))
        return codes, np.full_like(codes, 2 * math.log(std))
    return fn


def test_ground_truth_entry_scores_factors_rotation_and_noise():
    data = make_data()
    scale = 1.0 / (np.asarray(SIZES) - 1.0)
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    rot = np.kron(np.eye(2), np.array([[c, -s], [s, c]]))
    rng = np.random.default_rng(0)
    # (code, posterior std): sharp codes of the factors; rotated codes need some posterior noise, as
    # any generic linear mix of sharp codes of discrete factors still determines every factor
    fns = {"factors": (lambda cl: cl * scale, 0.02),
           "rotated": (lambda cl: (cl * scale) @ rot.T, 0.05),
           "noise": (lambda cl: rng.standard_normal(cl.shape), 0.02)}
    scores = {}
    for name, (code_fn, std) in fns.items():
        est = metrics.compute_mutual_information(data, _posterior_fn(code_fn, std), seed=0,
                                                 num_samples=2000)
        scores[name] = metrics.poster_scores(est)
        if name == "factors":  # each latent holds its whole factor: I = H[v_k]
            np.testing.assert_allclose(np.diag(est.mi), np.log(SIZES), atol=0.02)
    assert scores["factors"]["mig"] > 0.98 and scores["factors"]["aam"] > 0.98
    assert scores["factors"]["mmig"] == pytest.approx(scores["factors"]["mig"])
    assert scores["noise"]["mig"] < 0.02 and scores["noise"]["aam"] < 0.1
    for name in ("mig", "aam"):
        assert scores["noise"][name] + 0.1 < scores["rotated"][name] < scores["factors"][name] - 0.1
