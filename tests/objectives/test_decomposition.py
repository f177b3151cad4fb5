"""KL decomposition: numpy references, the telescoping identity, and brute force on a tiny data set."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from tfdisvae.objectives import decomposition as dec

LOG_2PI = math.log(2 * math.pi)


def np_log_normal(z, mean, log_var):
    return -0.5 * (LOG_2PI + log_var + (z - mean) ** 2 * np.exp(-log_var))


def np_pairwise(z, mean, log_var):
    b, d = z.shape
    out = np.empty((b, b, d))
    for i in range(b):
        for j in range(b):
            out[i, j] = np_log_normal(z[i], mean[j], log_var[j])
    return out


def np_mss_weights(b, n):
    """Chen et al.'s stratified weights written out entry by entry (M = B - 1)."""
    m = b - 1
    w = np.full((b, b), 1.0 / m)
    for i in range(b):
        w[i, i] = 1.0 / n
        w[i, (i + 1) % b] = (n - m) / (n * m)
    return w


def np_log_qz(z, mean, log_var, n, estimator):
    mat = np_pairwise(z, mean, log_var)
    b = z.shape[0]
    if estimator == "mws":
        log_qz = logsumexp(mat.sum(2), axis=1) - math.log(b)
        log_prod = (logsumexp(mat, axis=1) - math.log(b)).sum(1)
    else:
        log_w = np.log(np_mss_weights(b, n))
        log_qz = logsumexp(log_w + mat.sum(2), axis=1)
        log_prod = logsumexp(log_w[:, :, None] + mat, axis=1).sum(1)
    return log_qz, log_prod


def batch(rng, b=7, d=3):
    mean = rng.normal(size=(b, d))
    log_var = rng.normal(scale=0.5, size=(b, d)) - 1.0
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(b, d))
    return [a.astype(np.float32) for a in (z, mean, log_var)]


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=1e-5, atol=1e-5)


def test_densities_and_kl_match_numpy():
    z, mean, log_var = batch(np.random.default_rng(0))
    close(dec.log_normal_density(z, mean, log_var), np_log_normal(z, mean, log_var))
    close(dec.pairwise_log_density(z, mean, log_var), np_pairwise(z, mean, log_var))
    expected_kl = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var)
    close(dec.kl_per_latent(mean, log_var), expected_kl)
    # The analytic KL is the closed form of E_q[log q(z|x) - log p(z)]: check one case by quadrature.
    grid = np.linspace(-12, 12, 200_001)
    q = np.exp(np_log_normal(grid, mean[0, 0], log_var[0, 0]))
    integrand = q * (np_log_normal(grid, mean[0, 0], log_var[0, 0]) - np_log_normal(grid, 0, 0))
    assert np.trapezoid(integrand, grid) == pytest.approx(expected_kl[0, 0], abs=1e-6)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_log_qz_estimates_match_numpy(estimator):
    z, mean, log_var = batch(np.random.default_rng(1))
    log_qz, log_prod = dec.log_qz_estimates(z, mean, log_var, 1000, estimator)
    ref_qz, ref_prod = np_log_qz(z, mean, log_var, 1000, estimator)
    close(log_qz, ref_qz)
    close(log_prod, ref_prod)


def test_mss_weights_layout():
    w = np.exp(dec.log_importance_weights_mss(5, 100).numpy())
    np.testing.assert_allclose(w, np_mss_weights(5, 100), rtol=1e-6)
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-6)  # each row: an average over the data set
    np.testing.assert_allclose(np.diag(w), 1 / 100, rtol=1e-6)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_terms_telescope_to_log_q_minus_log_p(estimator):
    z, mean, log_var = batch(np.random.default_rng(2), b=9, d=4)
    terms = dec.decompose_kl(z, mean, log_var, 500, estimator)
    total = sum(float(terms[k]) for k in ("index_code_mi", "total_correlation", "dimwise_kl"))
    expected = np.mean(np_log_normal(z, mean, log_var).sum(1) - np_log_normal(z, 0, 0).sum(1))
    assert total == pytest.approx(expected, abs=1e-5)
    ref_qz, ref_prod = np_log_qz(z, mean, log_var, 500, estimator)
    log_qz_x = np_log_normal(z, mean, log_var).sum(1)
    close(terms["index_code_mi"], np.mean(log_qz_x - ref_qz))
    close(terms["total_correlation"], np.mean(ref_qz - ref_prod))


def tiny_dataset(rng, n=96):
    """Posteriors of a tiny data set whose aggregate q(z) is correlated (TC clearly > 0)."""
    u = rng.uniform(-1.5, 1.5, size=n)
    v = rng.uniform(-1.5, 1.5, size=n)
    mean = np.stack([u, 0.8 * u + 0.4 * v], axis=1)
    log_var = np.full((n, 2), math.log(0.3**2))
    return mean, log_var


def exact_log_qz(z, mean_all, log_var_all):
    """Brute force over the whole data set: log q(z) and log prod_j q(z_j), [B]."""
    mat = np_log_normal(z[:, None, :], mean_all[None], log_var_all[None])  # [B, N, D]
    n = mean_all.shape[0]
    return logsumexp(mat.sum(2), axis=1) - math.log(n), (logsumexp(mat, axis=1) - math.log(n)).sum(1)


def test_mss_matches_brute_force_and_analytic_kl():
    rng = np.random.default_rng(3)
    mean_all, log_var_all = tiny_dataset(rng)
    n, b, rounds = mean_all.shape[0], 64, 40
    est, exact, analytic = [], [], []
    for _ in range(rounds):
        idx = rng.choice(n, size=b, replace=False)  # MSS assumes batches drawn without replacement
        m, lv = mean_all[idx], log_var_all[idx]
        z = m + np.exp(0.5 * lv) * rng.normal(size=m.shape)
        f32 = [a.astype(np.float32) for a in (z, m, lv)]
        log_qz, log_prod = dec.log_qz_estimates(*f32, n, "mss")
        terms = dec.decompose_kl(*f32, n, "mss")
        est.append([log_qz.numpy(), log_prod.numpy()])
        exact.append(exact_log_qz(z, mean_all, log_var_all))
        analytic.append([sum(float(terms[k]) for k in terms),
                         (0.5 * (np.exp(lv) + m**2 - 1 - lv)).sum(1).mean()])
    est, exact, analytic = np.array(est), np.array(exact), np.array(analytic)
    # Averaged over 2,560 samples, MSS's log q(z) and log prod q(z_j) agree with brute force. MSS is
    # unbiased for q(z), so log q(z) is biased low (Jensen) by about Var/2; measured -0.015 nats here,
    # -0.06 with batches of 32 and -0.18 with 16.
    assert np.mean(est[:, 0] - exact[:, 0]) == pytest.approx(0.0, abs=0.04)
    assert np.mean(est[:, 1] - exact[:, 1]) == pytest.approx(0.0, abs=0.04)
    tc_est, tc_exact = np.mean(est[:, 0] - est[:, 1]), np.mean(exact[:, 0] - exact[:, 1])
    assert tc_exact > 0.3  # a correlated aggregate posterior, so the next check can fail
    assert tc_est == pytest.approx(tc_exact, abs=0.03)
    # alpha = beta = gamma = 1: MI + TC + dimwise KL is a Monte-Carlo estimate of the analytic KL.
    diff = analytic[:, 0] - analytic[:, 1]
    assert abs(diff.mean()) < 3 * diff.std() / math.sqrt(rounds) + 1e-3


def test_mws_on_the_whole_dataset_is_brute_force():
    """With the whole data set as the batch, MWS's (1/B) Σ_j q(z|x_j) is q(z) itself: exact values.
    (The paper's log(N·B) normalisation would be off by log N and D·log N here.)"""
    rng = np.random.default_rng(4)
    mean_all, log_var_all = tiny_dataset(rng, n=40)
    z = mean_all + np.exp(0.5 * log_var_all) * rng.normal(size=mean_all.shape)
    log_qz, log_prod = dec.log_qz_estimates(z, mean_all, log_var_all, 40, "mws")
    ref_qz, ref_prod = exact_log_qz(z, mean_all, log_var_all)
    np.testing.assert_allclose(log_qz.numpy(), ref_qz, atol=1e-4)
    np.testing.assert_allclose(log_prod.numpy(), ref_prod, atol=1e-4)


def test_identical_posteriors_mss_is_exact():
    """When every data point has the same posterior, q(z) is that posterior; MSS rows sum to 1."""
    rng = np.random.default_rng(5)
    mean = np.tile(rng.normal(size=(1, 3)), (6, 1)).astype(np.float32)
    log_var = np.tile(rng.normal(size=(1, 3)) - 1, (6, 1)).astype(np.float32)
    z = (mean + np.exp(0.5 * log_var) * rng.normal(size=mean.shape)).astype(np.float32)
    log_qz, log_prod = dec.log_qz_estimates(z, mean, log_var, 10_000, "mss")
    exact = np_log_normal(z, mean, log_var).sum(1)
    np.testing.assert_allclose(log_qz.numpy(), exact, atol=1e-4)
    np.testing.assert_allclose(log_prod.numpy(), exact, atol=1e-4)
    terms = dec.decompose_kl(z, mean, log_var, 10_000, "mss")
    assert float(terms["index_code_mi"]) == pytest.approx(0.0, abs=1e-4)
    assert float(terms["total_correlation"]) == pytest.approx(0.0, abs=1e-4)


def test_bad_arguments_are_named():
    z, mean, log_var = batch(np.random.default_rng(6))
    with pytest.raises(ValueError, match="estimator 'exact'"):
        dec.log_qz_estimates(z, mean, log_var, 100, "exact")
    with pytest.raises(ValueError, match="dataset_size is required"):
        dec.decompose_kl(z, mean, log_var, None)
    with pytest.raises(ValueError, match="smaller than the batch"):
        dec.decompose_kl(z, mean, log_var, 3)
    with pytest.raises(ValueError, match="at least 2"):
        dec.decompose_kl(z[:1], mean[:1], log_var[:1], 100)


def test_decompose_kl_compiles_under_xla():
    z, mean, log_var = batch(np.random.default_rng(7), b=16, d=5)
    for estimator in ("mws", "mss"):
        fn = tf.function(lambda a, b, c, e=estimator: dec.decompose_kl(a, b, c, 1000, e),
                         jit_compile=True)
        compiled = fn(z, mean, log_var)
        eager = dec.decompose_kl(z, mean, log_var, 1000, estimator)
        for key, value in eager.items():
            assert float(compiled[key]) == pytest.approx(float(value), abs=1e-5)
