"""FactorVAE pieces (permutation, density-ratio TC, discriminator loss) and the DIP regulariser."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import log_softmax

from tfdisvae.networks import make_discriminator
from tfdisvae.objectives import dip, factor


def test_permute_dims_permutes_each_column_independently():
    z = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)
    seed = tf.constant([3, 7], tf.int32)
    out = factor.permute_dims(z, seed).numpy()
    for d in range(3):
        assert sorted(out[:, d]) == sorted(z[:, d])  # a permutation of its own column
    rows = (out - np.arange(3)) / 3  # the source row of each entry
    assert not np.array_equal(rows[:, 0], rows[:, 1])  # columns use different permutations
    assert not np.array_equal(out, z)
    np.testing.assert_array_equal(factor.permute_dims(z, seed).numpy(), out)  # stateless: reproducible
    assert not np.array_equal(factor.permute_dims(z, tf.constant([4, 7])).numpy(), out)


def test_permute_dims_compiles_under_xla():
    z = np.random.default_rng(0).normal(size=(32, 5)).astype(np.float32)
    fn = tf.function(factor.permute_dims, jit_compile=True)
    seed = tf.constant([1, 2], tf.int32)
    out = fn(z, seed).numpy()
    # XLA draws other noise than eager for the same stateless seed, so compare properties, not values.
    np.testing.assert_array_equal(np.sort(out, 0), np.sort(z, 0))
    np.testing.assert_array_equal(fn(z, seed).numpy(), out)
    assert not np.array_equal(out, z)


def test_discriminator_loss_and_accuracy_match_numpy():
    rng = np.random.default_rng(1)
    real, perm = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    expected = 0.5 * (-log_softmax(real, 1)[:, 0].mean() - log_softmax(perm, 1)[:, 1].mean())
    got = factor.discriminator_loss(real.astype(np.float32), perm.astype(np.float32))
    assert float(got) == pytest.approx(expected, abs=1e-5)
    acc = (np.sum(real[:, 0] >= real[:, 1]) + np.sum(perm[:, 1] > perm[:, 0])) / 10
    got_acc = factor.discriminator_accuracy(real.astype(np.float32), perm.astype(np.float32))
    assert float(got_acc) == pytest.approx(acc)
    assert float(factor.density_ratio_tc(real)) == pytest.approx(np.mean(real[:, 0] - real[:, 1]),
                                                                  abs=1e-6)
    # A perfect, confident discriminator has loss ~0 and accuracy 1.
    big = np.array([[20.0, -20.0]] * 3, np.float32)
    assert float(factor.discriminator_loss(big, big[:, ::-1])) == pytest.approx(0.0, abs=1e-6)
    assert float(factor.discriminator_accuracy(big, big[:, ::-1])) == 1.0


def _train_discriminator(rho, steps=250, batch=256, latent_dim=2, seed=0):
    """Fit a small discriminator on codes with corr(z0, z1) = rho; return (accuracy, TC estimate)."""
    keras.utils.set_random_seed(seed)
    cov = np.eye(latent_dim)
    cov[0, 1] = cov[1, 0] = rho
    chol = tf.constant(np.linalg.cholesky(cov), tf.float32)
    disc = make_discriminator(latent_dim, units=64, num_layers=2)
    opt = keras.optimizers.Adam(1e-3)

    def sample(seed_pair):
        eps = tf.random.stateless_normal([batch, latent_dim], seed=seed_pair)
        return tf.matmul(eps, chol, transpose_b=True)

    @tf.function(jit_compile=True)
    def train_step(i):
        z = sample(tf.stack([i, 0]))
        z_perm = factor.permute_dims(sample(tf.stack([i, 1])), tf.stack([i, 2]))
        with tf.GradientTape() as tape:
            loss = factor.discriminator_loss(disc(z, training=True), disc(z_perm, training=True))
        grads = tape.gradient(loss, disc.trainable_variables)
        opt.apply_gradients(zip(grads, disc.trainable_variables, strict=True))
        return loss

    for i in range(steps):
        train_step(tf.constant(i, tf.int32))
    z = sample(tf.constant([10_000, 0]))
    z_perm = factor.permute_dims(sample(tf.constant([10_000, 1])), tf.constant([10_000, 2]))
    real_logits, perm_logits = disc(z), disc(z_perm)
    return (float(factor.discriminator_accuracy(real_logits, perm_logits)),
            float(factor.density_ratio_tc(real_logits)))


def test_discriminator_learns_correlated_codes():
    rho = 0.95
    accuracy, tc = _train_discriminator(rho)
    true_tc = -0.5 * math.log(1 - rho**2)  # TC of a bivariate normal, 1.16 nats
    assert accuracy > 0.7
    assert 0.5 * true_tc < tc < 1.5 * true_tc
    # Control: independent codes cannot be told apart.
    accuracy0, tc0 = _train_discriminator(0.0, steps=100)
    assert abs(accuracy0 - 0.5) < 0.1
    assert abs(tc0) < 0.15


def np_dip(mean, log_var, kind, lod, ld):
    cov = np.cov(mean, rowvar=False, bias=True)
    if kind == "ii":
        cov = cov + np.diag(np.exp(log_var).mean(0))
    off = cov - np.diag(np.diag(cov))
    return lod * (off**2).sum() + ld * ((np.diag(cov) - 1) ** 2).sum()


@pytest.mark.parametrize("kind", ["i", "ii"])
def test_dip_matches_numpy(kind):
    rng = np.random.default_rng(2)
    mean = rng.normal(size=(12, 4)) @ rng.normal(size=(4, 4))
    log_var = rng.normal(size=(12, 4)) - 1
    got = dip.dip_regulariser(mean.astype(np.float32), log_var.astype(np.float32), kind, 10.0, 3.0)
    assert float(got) == pytest.approx(np_dip(mean, log_var, kind, 10.0, 3.0), rel=1e-5)


def test_dip_is_zero_at_the_identity():
    # Centred, orthonormal columns scaled by sqrt(B): the batch covariance (divided by B) is I.
    a = np.random.default_rng(3).normal(size=(16, 3))
    q = np.linalg.qr(a - a.mean(0))[0]  # combinations of centred columns stay centred
    mean = (q * 4.0).astype(np.float32)
    np.testing.assert_allclose(dip.covariance_of_means(mean).numpy(), np.eye(3), atol=1e-5)
    assert float(dip.dip_regulariser(mean, np.zeros_like(mean), "i", 10.0, 10.0)) == \
        pytest.approx(0.0, abs=1e-8)
    # DIP-II adds E[var] = 1 to the diagonal: each (Cov_ii - 1)^2 becomes 1.
    assert float(dip.dip_regulariser(mean, np.zeros_like(mean), "ii", 10.0, 2.0)) == \
        pytest.approx(2.0 * 3, rel=1e-4)
    with pytest.raises(ValueError, match="'i' \\(DIP-VAE-I\\) or 'ii'"):
        dip.dip_regulariser(mean, mean, "iii", 1.0, 1.0)
