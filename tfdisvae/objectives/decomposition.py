"""The KL decomposition of Chen et al. (2018) with its minibatch estimators of log q(z) and log ∏_j q(z_j).

For a Gaussian posterior q(z|x) = N(mean(x), diag exp(log_var(x))) and prior p(z) = N(0, I), averaged over
the data (poster Eq. 1):

    E_x KL[q(z|x) || p(z)] = E_q(z,x)[log q(z|x) − log q(z)]          index-code MI
                           + E_q(z)[log q(z) − log ∏_j q(z_j)]        total correlation
                           + E_q(z)[log ∏_j q(z_j) − log p(z)]        dimension-wise KL

q(z) = (1/N) Σ_n q(z|x_n) needs the whole data set; both estimators use the minibatch instead, through
the [B, B, D] matrix of log q(z_i,d | x_j) (sample i, data point j, latent d) and one log-sum-exp over j:

- MWS, minibatch weighted sampling (Chen et al. 2018, appendix):
      log q(z_i) ≈ logsumexp_j Σ_d log q(z_i,d|x_j) − log B
      log ∏_d q(z_i,d) ≈ Σ_d [logsumexp_j log q(z_i,d|x_j) − log B]
  i.e. q(z) ≈ (1/B) Σ_j q(z|x_j), which is exact when the batch is the whole data set. The paper and its
  reference code normalise by log(N·B) instead; that differs from ours by the constant log N (joint) and
  D·log N (product), so the gradients — and hence training — are the same, but their logged MI and TC
  come out shifted by +log N and +(D−1)·log N. We keep the consistent normalisation so the logged
  values are estimates of the terms themselves. MWS still over-weights each sample's own posterior when
  B ≪ N; prefer MSS for reported values.
- MSS, minibatch stratified sampling (Chen et al. 2018, appendix): importance weights w_ij, M = B − 1:
      w_ii = 1/N                      (z_i was drawn from x_i's posterior)
      w_i,(i+1 mod B) = (N − M)/(N·M) (the stratum that stands for the data points outside the batch)
      w_ij = 1/M                      (the other M − 1 points)
  Each row sums to 1, and for a batch drawn uniformly without replacement Σ_j w_ij q(z|x_j) is an unbiased
  estimate of q(z). The reference implementations (rtqichen/beta-tcvae, YannDubs/disentangling-vae) fill
  the matrix with a flat stride of M + 1 = B, which puts 1/N in column 0 rather than on the diagonal
  (rtqichen/beta-tcvae PR #1); we follow the paper: 1/N on the diagonal.

All functions compute in float32 (inputs are cast) and compile under XLA. Units: nats.
"""

import math

import tensorflow as tf

ESTIMATORS = ("mss", "mws")  # estimators of log q(z), the default first

_LOG_2PI = math.log(2.0 * math.pi)


def _f32(*tensors):
    return tuple(tf.cast(t, tf.float32) for t in tensors)


def log_normal_density(z, mean, log_var):
    """Elementwise log N(z; mean, exp(log_var)) in nats; broadcasts its arguments."""
    z, mean, log_var = _f32(z, mean, log_var)
    return -0.5 * (_LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var))


def kl_per_latent(mean, log_var):
    """Analytic KL(q(z_j|x) || N(0, 1)) per data point and latent: [batch, latent_dim], nats."""
    mean, log_var = _f32(mean, log_var)
    return 0.5 * (tf.exp(log_var) + tf.square(mean) - 1.0 - log_var)


def pairwise_log_density(z, mean, log_var):
    """[i, j, d] = log q(z_i,d | x_j) for z, mean, log_var of shape [B, D]; returns [B, B, D], nats."""
    z, mean, log_var = _f32(z, mean, log_var)
    return log_normal_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])


def _check_estimator(estimator):
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r} for log q(z); choose one of {', '.join(ESTIMATORS)}."
        )


def _check_dataset_size(dataset_size, batch_size):
    if dataset_size is None:
        raise ValueError("dataset_size is required by the MWS/MSS estimators: pass the number of "
                         "training examples N.")
    if isinstance(dataset_size, (int, float)):
        if dataset_size < 1:
            raise ValueError(f"dataset_size must be >= 1, got {dataset_size!r}.")
        if batch_size is not None and dataset_size < batch_size:
            raise ValueError(
                f"dataset_size={dataset_size} is smaller than the batch ({batch_size}); pass the "
                "number of training examples N, which is at least the batch size."
            )


def log_importance_weights_mss(batch_size, dataset_size):
    """log w_ij of minibatch stratified sampling, [B, B] float32 (see the module docstring). B >= 2."""
    b = tf.convert_to_tensor(batch_size, tf.int32)
    n = tf.cast(dataset_size, tf.float32)
    m = tf.cast(b, tf.float32) - 1.0
    eye = tf.eye(b, dtype=tf.float32)
    stratum = tf.roll(eye, shift=1, axis=1)  # row i has its 1 in column (i + 1) mod B
    others = 1.0 - eye - stratum
    weights = eye / n + stratum * (n - m) / (n * m) + others / m
    return tf.math.log(weights)


def log_qz_estimates(z, mean, log_var, dataset_size, estimator="mss"):
    """Minibatch estimates of log q(z_i) and log ∏_d q(z_i,d) for every sample of the batch.

    Args:
      z, mean, log_var: [B, D]; z_i is a sample of q(z|x_i).
      dataset_size: N, number of training examples (int or scalar tensor).
      estimator: "mss" or "mws".
    Returns:
      (log_qz [B], log_prod_qzj [B]), nats.
    """
    _check_estimator(estimator)
    z, mean, log_var = _f32(z, mean, log_var)
    batch_static = z.shape[0]
    _check_dataset_size(dataset_size, batch_static)
    if estimator == "mss" and batch_static is not None and batch_static < 2:
        raise ValueError(f"MSS needs a batch of at least 2 samples, got {batch_static}.")
    mat = pairwise_log_density(z, mean, log_var)  # [B, B, D]
    if estimator == "mws":
        log_b = tf.math.log(tf.cast(tf.shape(z)[0], tf.float32))
        log_qz = tf.reduce_logsumexp(tf.reduce_sum(mat, axis=2), axis=1) - log_b
        log_prod = tf.reduce_sum(tf.reduce_logsumexp(mat, axis=1) - log_b, axis=1)
    else:
        log_w = log_importance_weights_mss(tf.shape(z)[0], dataset_size)  # [B, B]
        log_qz = tf.reduce_logsumexp(log_w + tf.reduce_sum(mat, axis=2), axis=1)
        log_prod = tf.reduce_sum(tf.reduce_logsumexp(log_w[:, :, None] + mat, axis=1), axis=1)
    return log_qz, log_prod


def decompose_kl(z, mean, log_var, dataset_size, estimator="mss"):
    """Batch means of the three terms of the decomposition, each a scalar float32 in nats per data point.

    Returns {"index_code_mi": mean(log q(z|x) − log q(z)),
             "total_correlation": mean(log q(z) − log ∏_j q(z_j)),
             "dimwise_kl": mean(log ∏_j q(z_j) − log p(z))}.
    Their sum is exactly mean(log q(z|x) − log p(z)), a one-sample estimate of the analytic KL, whatever
    the estimator.
    """
    z, mean, log_var = _f32(z, mean, log_var)
    log_qz, log_prod = log_qz_estimates(z, mean, log_var, dataset_size, estimator)
    log_qz_x = tf.reduce_sum(log_normal_density(z, mean, log_var), axis=1)
    log_pz = tf.reduce_sum(log_normal_density(z, 0.0, 0.0), axis=1)
    return {
        "index_code_mi": tf.reduce_mean(log_qz_x - log_qz),
        "total_correlation": tf.reduce_mean(log_qz - log_prod),
        "dimwise_kl": tf.reduce_mean(log_prod - log_pz),
    }
