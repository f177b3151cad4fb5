"""TFP posterior, prior and likelihoods against closed forms."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import distributions as dist


def test_posterior_and_prior_log_probs():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    z = rng.normal(size=(4, 3))
    q = dist.posterior(mean.astype(np.float32), log_var.astype(np.float32))
    expected = (-0.5 * (math.log(2 * math.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))).sum(1)
    np.testing.assert_allclose(q.log_prob(z.astype(np.float32)), expected, rtol=1e-5)
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    p = dist.prior(3)
    assert float(p.log_prob(np.zeros(3, np.float32))) == pytest.approx(-1.5 * math.log(2 * math.pi))
    # Their analytic KL equals the per-latent closed form summed.
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).sum(1)
    np.testing.assert_allclose(q.kl_divergence(p), kl, rtol=1e-5)


def test_bernoulli_likelihood_is_cross_entropy_per_image():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 4, 1))
    x = rng.uniform(size=(2, 4, 4, 1))  # grey levels: the cross-entropy convention
    lik = dist.likelihood(logits.astype(np.float32))
    assert lik.batch_shape == (2,) and lik.event_shape == (4, 4, 1)
    expected = (x * logits - np.logaddexp(0, logits)).sum((1, 2, 3))
    np.testing.assert_allclose(lik.log_prob(x.astype(np.float32)), expected, rtol=1e-5)
    np.testing.assert_allclose(dist.likelihood_mean(logits, "bernoulli"), 1 / (1 + np.exp(-logits)),
                               rtol=1e-5)


def test_gaussian_and_laplace_default_scales():
    rng = np.random.default_rng(2)
    mean, x = rng.uniform(size=(2, 4, 4, 3)), rng.uniform(size=(2, 4, 4, 3))
    pixels = 4 * 4 * 3
    gauss = dist.likelihood(mean.astype(np.float32), "gaussian")
    # sigma^2 = 1/2: -log p = sum (x - mean)^2 + pixels * 0.5 * log(pi)
    expected = -(((x - mean) ** 2).sum((1, 2, 3)) + pixels * 0.5 * math.log(math.pi))
    np.testing.assert_allclose(gauss.log_prob(x.astype(np.float32)), expected, rtol=1e-5)
    lap = dist.likelihood(mean.astype(np.float32), "laplace")
    expected = -(np.abs(x - mean).sum((1, 2, 3)) + pixels * math.log(2.0))
    np.testing.assert_allclose(lap.log_prob(x.astype(np.float32)), expected, rtol=1e-5)
    lap2 = dist.likelihood(mean.astype(np.float32), "laplace", scale=0.5)
    expected = -(np.abs(x - mean).sum((1, 2, 3)) / 0.5 + pixels * math.log(1.0))
    np.testing.assert_allclose(lap2.log_prob(x.astype(np.float32)), expected, rtol=1e-5)
    np.testing.assert_array_equal(dist.likelihood_mean(mean, "gaussian"), mean)


def test_bad_kind_and_shape():
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'; choose one of bernoulli, gaussian, laplace"):
        dist.likelihood(np.zeros((1, 2, 2, 1), np.float32), "poisson")
    with pytest.raises(ValueError, match=r"params must be \[batch, H, W, C\]"):
        dist.likelihood(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        dist.prior(0)


def test_sampling_and_log_prob_compile_under_xla():
    @tf.function(jit_compile=True)
    def fn(mean, log_var, logits, x, seed):
        z = dist.posterior(mean, log_var).sample(seed=seed)
        return z, dist.likelihood(logits).log_prob(x) + dist.prior(3).log_prob(z)

    rng = np.random.default_rng(3)
    args = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3)) - 2, rng.normal(size=(2, 4, 4, 1)),
            rng.integers(0, 2, size=(2, 4, 4, 1))]
    args = [tf.constant(a, tf.float32) for a in args]
    z1, lp = fn(*args, tf.constant([1, 2]))
    z2, _ = fn(*args, tf.constant([1, 2]))
    np.testing.assert_array_equal(z1, z2)
    assert lp.shape == (2,) and np.all(np.isfinite(lp))


@pytest.mark.parametrize("shapes", [((3, 5, 5, 1), (3, 5, 5, 1)), ((1, 5, 5, 1), (3, 5, 5, 1)),
                                    ((3, 5, 5, 1), (5, 5, 1))], ids=["same", "logits_bc", "x_bc"])
def test_fused_bernoulli_matches_tfp_values_and_gradients(shapes):
    import tensorflow_probability as tfp

    rng = np.random.default_rng(4)
    # Logits from tiny to saturated, images binary and grey.
    logits = tf.constant(rng.normal(size=shapes[0]) * 10 ** rng.uniform(-2, 1.7, size=shapes[0]),
                         tf.float32)
    x = rng.uniform(size=shapes[1])
    x = tf.constant(np.where(rng.uniform(size=shapes[1]) < 0.5, np.round(x), x), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, x])
        ours = dist.Bernoulli(logits=logits).log_prob(x)
        theirs = tfp.distributions.Bernoulli(logits=logits, dtype=tf.float32).log_prob(x)
        weights = tf.constant(rng.normal(size=ours.shape), tf.float32)  # a non-uniform upstream
        ours_sum, theirs_sum = tf.reduce_sum(ours * weights), tf.reduce_sum(theirs * weights)
    assert ours.shape == theirs.shape
    # Cancellation in x*l - softplus(l) costs at most ~ulp(|l|) per pixel (|l| <= 50 here).
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=5e-6)
    for var in (logits, x):
        g_ours, g_theirs = tape.gradient(ours_sum, var), tape.gradient(theirs_sum, var)
        assert g_ours.shape == var.shape
        np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-5, atol=1e-5)


def test_fused_bernoulli_is_a_tfp_bernoulli_with_tfps_other_methods():
    import tensorflow_probability as tfp

    logits = tf.constant([[-3.0, 0.0, 2.5]])
    d = dist.Bernoulli(logits=logits, dtype=tf.float32)
    assert isinstance(d, tfp.distributions.Bernoulli)
    np.testing.assert_allclose(d.mean(), tf.sigmoid(logits), rtol=1e-6)
    assert d.sample(4, seed=1).shape == (4, 1, 3)
    # The probs parameterisation keeps TFP's own log_prob.
    p = dist.Bernoulli(probs=[0.25, 0.5], dtype=tf.float32)
    np.testing.assert_allclose(p.log_prob([1.0, 0.0]), np.log([0.25, 0.5]), rtol=1e-6)
    # And the likelihood factory builds it for "bernoulli".
    lik = dist.likelihood(tf.zeros([2, 4, 4, 1]))
    assert isinstance(lik.distribution, dist.Bernoulli)
    np.testing.assert_allclose(lik.log_prob(tf.ones([2, 4, 4, 1])), [-16 * math.log(2)] * 2,
                               rtol=1e-6)
