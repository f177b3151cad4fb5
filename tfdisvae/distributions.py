"""TFP factories for the three distributions of a VAE: posterior q(z|x), prior p(z), likelihood p(x|z).

Keras layers return tensors; these functions turn them into `tfd.*` objects in model and loss code
(`tfp.layers.DistributionLambda` does not work inside Keras 3 functional models).

Units: every `log_prob` is in nats. The likelihood's event is a whole image [H, W, C], so
`likelihood(params).log_prob(x)` is nats per image, shape [batch].
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian", "laplace")

# Fixed per-pixel scales, chosen so that −log p(x|z) equals the usual image losses up to a constant:
#   gaussian, sigma = 1/sqrt(2):  −log p = sum (x − mean)^2 + const   (disentanglement_lib's "l2" loss)
#   laplace,  b = 1:              −log p = sum |x − mean|   + const   (an L1 loss)
# Pass `scale=` to pick another value; a smaller scale weighs the reconstruction more against the KL.
DEFAULT_SCALES = {"gaussian": 1.0 / math.sqrt(2.0), "laplace": 1.0}


class Bernoulli(tfd.Bernoulli):
    """`tfd.Bernoulli` whose log_prob from logits is one fused expression with a hand-written gradient.

    log p(x | l) = x*l - softplus(l), equal to TFP's -softplus(-l)*x - softplus(l)*(1-x) for every x
    (softplus(l) - softplus(-l) = l), and d/dl = x - sigmoid(l). TFP's form costs eight passes over a
    [batch, 64, 64, 1] tensor forward and more backward; this one three each way, which is what the
    reconstruction term of every training step evaluates. Rounding: for |l| of tens, x*l - softplus(l)
    loses at most half an ulp of l per pixel to cancellation (about 1e-6 nats at |l| = 20), far below
    the float32 error of the per-image sum. Everything else (sampling, mean, entropy, a `probs`
    parameterisation) is TFP's own; tests/test_distributions.py compares values and gradients.
    """

    def _log_prob(self, event):
        if self._logits is None:
            return super()._log_prob(event)
        logits = tf.convert_to_tensor(self._logits)
        return _bernoulli_log_prob(logits, tf.cast(event, logits.dtype))


@tf.custom_gradient
def _bernoulli_log_prob(logits, x):
    """x*logits - softplus(logits), broadcasting like a binary op, with its analytic gradient."""

    def grad(upstream):
        g_logits = upstream * (x - tf.sigmoid(logits))
        g_x = upstream * logits
        shape_l, shape_x = tf.shape(logits), tf.shape(x)
        axes_l, axes_x = tf.raw_ops.BroadcastGradientArgs(s0=shape_l, s1=shape_x)
        return (tf.reshape(tf.reduce_sum(g_logits, axes_l), shape_l),
                tf.reshape(tf.reduce_sum(g_x, axes_x), shape_x))

    return x * logits - tf.nn.softplus(logits), grad


def posterior(mean, log_var):
    """q(z|x) = N(mean, diag exp(log_var)).

    Args:
      mean: [batch, latent_dim].
      log_var: [batch, latent_dim], log-variance (natural log).
    Returns:
      `tfd.MultivariateNormalDiag` with batch shape [batch] and event shape [latent_dim].
    """
    mean = tf.convert_to_tensor(mean)
    log_var = tf.cast(log_var, mean.dtype)
    return tfd.MultivariateNormalDiag(loc=mean, scale_diag=tf.exp(0.5 * log_var))


def prior(latent_dim, dtype=tf.float32):
    """p(z) = N(0, I) with event shape [latent_dim] and empty batch shape."""
    if int(latent_dim) < 1:
        raise ValueError(f"prior: latent_dim must be a positive integer, got {latent_dim!r}.")
    return tfd.MultivariateNormalDiag(
        loc=tf.zeros([int(latent_dim)], dtype), scale_diag=tf.ones([int(latent_dim)], dtype)
    )


def check_likelihood(kind):
    """Raise ValueError unless `kind` is one of LIKELIHOODS."""
    if kind not in LIKELIHOODS:
        raise ValueError(f"Unknown likelihood {kind!r}; choose one of {', '.join(LIKELIHOODS)}.")


def likelihood(params, kind="bernoulli", scale=None):
    """p(x|z), independent over pixels, with the event over [H, W, C].

    Args:
      params: [batch, H, W, C] decoder output: logits for "bernoulli", the mean for "gaussian"/"laplace".
      kind: one of LIKELIHOODS.
      scale: per-pixel standard deviation ("gaussian") or Laplace scale b ("laplace"); None picks
        DEFAULT_SCALES[kind] (1/sqrt(2) and 1, see above). Ignored for "bernoulli".
    Returns:
      `tfd.Independent` with batch shape [batch] and event shape [H, W, C]; `log_prob(x)` is nats per
      image. For "bernoulli", x may be grey levels in [0, 1]: log_prob is then minus the binary
      cross-entropy summed over pixels (the usual convention for non-binary images).
    """
    check_likelihood(kind)
    params = tf.convert_to_tensor(params)
    if params.shape.rank is not None and params.shape.rank != 4:
        raise ValueError(
            f"likelihood: params must be [batch, H, W, C], got shape {params.shape}; "
            "pass the decoder output unflattened."
        )
    if kind == "bernoulli":
        base = Bernoulli(logits=params, dtype=params.dtype)
    else:
        scale = DEFAULT_SCALES[kind] if scale is None else scale
        scale = tf.cast(scale, params.dtype)
        if kind == "gaussian":
            base = tfd.Normal(loc=params, scale=scale)
        else:
            base = tfd.Laplace(loc=params, scale=scale)
    return tfd.Independent(base, reinterpreted_batch_ndims=3)


def likelihood_mean(params, kind):
    """Mean image of p(x|z): sigmoid(logits) for "bernoulli", the params themselves otherwise.

    params: [batch, H, W, C]; returns the same shape (in [0, 1] for "bernoulli").
    """
    check_likelihood(kind)
    params = tf.convert_to_tensor(params)
    if kind == "bernoulli":
        return tf.sigmoid(params)
    return params
