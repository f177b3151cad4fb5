"""The table's MI / TC / dimension-wise KL against quadrature of the exact aggregate posterior."""

import numpy as np
import pytest

from tfdisvae.metrics.elbo import full_data_decomposition


def _log_normal(z, mean, var):
    return -0.5 * (np.log(2 * np.pi * var) + (z - mean) ** 2 / var)


def test_full_data_decomposition_matches_quadrature_of_a_correlated_mixture():
    # Four distinct posteriors on the diagonal, each repeated: q(z) is a 4-component mixture whose two
    # coordinates are strongly correlated, so the TC is far from 0 and a wrong estimator shows.
    centres = np.array([[-1.5, -1.5], [-0.5, -0.5], [0.5, 0.5], [1.5, 1.5]])
    var = np.array([[0.09, 0.16], [0.16, 0.09], [0.09, 0.09], [0.16, 0.16]])
    reps = 1500
    mean = np.repeat(centres, reps, axis=0).astype(np.float32)
    log_var = np.log(np.repeat(var, reps, axis=0)).astype(np.float32)
    est = full_data_decomposition(mean, log_var, num_samples=6000, seed=1)

    grid = np.linspace(-5, 5, 801)
    step = grid[1] - grid[0]
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")
    comp = np.stack([np.exp(_log_normal(z1, c[0], v[0]) + _log_normal(z2, c[1], v[1]))
                     for c, v in zip(centres, var, strict=True)])           # [4, G, G]
    q = comp.mean(0)
    q1, q2 = q.sum(1) * step, q.sum(0) * step
    p = np.exp(_log_normal(z1, 0, 1) + _log_normal(z2, 0, 1))
    tiny = 1e-300
    tc = np.sum(q * (np.log(q + tiny) - np.log(q1[:, None] * q2[None, :] + tiny))) * step**2
    dimwise = sum(np.sum(qj * (np.log(qj + tiny) - _log_normal(grid, 0, 1))) * step for qj in (q1, q2))
    mi = np.mean([np.sum(c * (np.log(c + tiny) - np.log(q + tiny))) * step**2 for c in comp])
    kl = np.mean([np.sum(c * (np.log(c + tiny) - np.log(p))) * step**2 for c in comp])

    assert tc > 0.5  # a correlated aggregate posterior: the check below can fail
    assert est["total_correlation"] == pytest.approx(tc, abs=0.05)
    assert est["index_code_mi"] == pytest.approx(mi, abs=0.05)
    assert est["dimwise_kl"] == pytest.approx(dimwise, abs=0.05)
    assert sum(est[k] for k in ("index_code_mi", "total_correlation", "dimwise_kl")) == \
        pytest.approx(kl, abs=0.06)
    assert est["dimwise_kl_per_latent"].sum() == pytest.approx(est["dimwise_kl"], rel=1e-5)


def test_identical_posteriors_have_no_mi_and_no_tc():
    mean = np.tile(np.array([[0.3, -0.7, 1.1]], np.float32), (500, 1))
    log_var = np.tile(np.array([[-1.0, 0.2, -0.3]], np.float32), (500, 1))
    est = full_data_decomposition(mean, log_var, num_samples=500, seed=0, chunk_size=128)
    assert est["index_code_mi"] == pytest.approx(0.0, abs=1e-4)
    assert est["total_correlation"] == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("chunk_size", [None, 7, 64])
def test_full_data_decomposition_equals_a_float64_mixture_sum(chunk_size):
    """Against plain float64 log-sum-exps over every point (chunks that do not divide N are padded), with
    posteriors whose widths differ by e^8 (the shifted marginal sums must not underflow)."""
    from scipy.special import logsumexp

    rng = np.random.default_rng(4)
    n, d = 150, 3
    mean = rng.normal(size=(n, d)).astype(np.float32)
    log_var = rng.uniform(-8.0, 0.0, size=(n, d)).astype(np.float32)
    est = full_data_decomposition(mean, log_var, num_samples=40, seed=5, chunk_size=chunk_size)
    draw = np.random.default_rng(5)  # the function's draws: the points, then their noise
    picked = draw.choice(n, size=40, replace=False)
    eps = draw.standard_normal((40, d)).astype(np.float32)
    m64, lv64 = mean.astype(np.float64), log_var.astype(np.float64)
    z = (mean[picked] + np.exp(0.5 * log_var[picked]) * eps).astype(np.float64)
    log_p = -0.5 * (np.log(2 * np.pi) + lv64[None] + (z[:, None] - m64[None]) ** 2 * np.exp(-lv64[None]))
    log_qz = logsumexp(log_p.sum(2), axis=1) - np.log(n)
    log_qzj = logsumexp(log_p, axis=1) - np.log(n)
    log_qzx = (-0.5 * (np.log(2 * np.pi) + lv64[picked] + eps.astype(np.float64) ** 2)).sum(1)
    log_pzj = -0.5 * (np.log(2 * np.pi) + z**2)
    np.testing.assert_allclose(est["index_code_mi"], np.mean(log_qzx - log_qz), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(est["total_correlation"], np.mean(log_qz - log_qzj.sum(1)), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(est["dimwise_kl_per_latent"], np.mean(log_qzj - log_pzj, axis=0),
                               rtol=1e-4, atol=1e-4)
