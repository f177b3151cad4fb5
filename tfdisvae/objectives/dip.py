"""DIP-VAE regulariser (Kumar et al. 2018): push a covariance of the codes towards the identity.

    dip = lambda_od · Σ_{i≠j} Cov_ij²  +  lambda_d · Σ_i (Cov_ii − 1)²

- DIP-VAE-I:  Cov = Cov_p(x)[mean(x)], the covariance of the posterior means over the batch.
- DIP-VAE-II: Cov = Cov_q(z)[z] = Cov[mean] + E_p(x)[diag exp(log_var)] (law of total covariance).
The batch covariance divides by B (not B − 1), as disentanglement_lib does.
"""

import tensorflow as tf

DIP_KINDS = ("i", "ii")


def covariance_of_means(mean):
    """Batch covariance of mean [B, D] (divided by B): [D, D] float32."""
    mean = tf.cast(mean, tf.float32)
    centred = mean - tf.reduce_mean(mean, axis=0, keepdims=True)
    return tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(mean)[0], tf.float32)


def dip_regulariser(mean, log_var, kind, lambda_od, lambda_d):
    """The DIP term for mean, log_var [B, D]; kind "i" or "ii". Scalar float32."""
    if kind not in DIP_KINDS:
        raise ValueError(f"Unknown DIP kind {kind!r}; choose 'i' (DIP-VAE-I) or 'ii' (DIP-VAE-II).")
    cov = covariance_of_means(mean)
    if kind == "ii":
        cov = cov + tf.linalg.diag(tf.reduce_mean(tf.exp(tf.cast(log_var, tf.float32)), axis=0))
    diag = tf.linalg.diag_part(cov)
    off_diag = cov - tf.linalg.diag(diag)
    return (tf.cast(lambda_od, tf.float32) * tf.reduce_sum(tf.square(off_diag))
            + tf.cast(lambda_d, tf.float32) * tf.reduce_sum(tf.square(diag - 1.0)))
