"""FactorVAE's density-ratio estimate of the total correlation (Kim & Mnih 2018).

A discriminator D: z -> logits [batch, 2] learns to tell samples of q(z) (class 0) from samples of
∏_j q(z_j) (class 1, made by permuting each latent dimension independently across the batch). With
softmax probabilities p0, p1, the density-ratio trick gives

    TC = KL[q(z) || ∏_j q(z_j)] ≈ E_q(z)[log p0(z) − log p1(z)] = E_q(z)[logit_0(z) − logit_1(z)].

Everything compiles under XLA: `tf.random.shuffle` does not on CPU (TF 2.21), so permutations are an
argsort of stateless uniform noise, one column at a time.
"""

import tensorflow as tf

REAL, PERMUTED = 0, 1


def permute_dims(z, seed):
    """Permute each column of z independently across the batch.

    Args:
      z: [batch, latent_dim].
      seed: int32 tensor of shape [2] (stateless seed); the same seed gives the same permutations.
    Returns:
      [batch, latent_dim]; column d is a permutation of z[:, d].

    The same seed gives the same permutation within one execution mode, but an XLA-compiled call and an
    eager/graph call draw different noise (the stateless RNG kernels differ on CPU, seen with TF 2.21).
    """
    z = tf.convert_to_tensor(z)
    seed = tf.cast(seed, tf.int32)
    noise = tf.random.stateless_uniform(tf.shape(z), seed=seed, dtype=tf.float32)
    order = tf.argsort(noise, axis=0)  # [B, D], each column a permutation of 0..B-1
    permuted_t = tf.gather(tf.transpose(z), tf.transpose(order), batch_dims=1)  # [D, B]
    return tf.transpose(permuted_t)


def density_ratio_tc(logits):
    """TC estimate mean(logits[:, 0] − logits[:, 1]) over the batch; scalar float32, nats.

    logits: [batch, 2], the discriminator's output on samples of q(z).
    """
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(logits[:, REAL] - logits[:, PERMUTED])


def discriminator_loss(real_logits, permuted_logits):
    """Cross-entropy of the discriminator: 0.5·(CE(real → class 0) + CE(permuted → class 1)).

    real_logits, permuted_logits: [batch, 2] (batch sizes may differ). Scalar float32, nats.
    Minimise it over the discriminator's weights only (feed it stop_gradient(z)).
    """
    real_logits = tf.cast(real_logits, tf.float32)
    permuted_logits = tf.cast(permuted_logits, tf.float32)
    real = -tf.nn.log_softmax(real_logits, axis=-1)[:, REAL]
    perm = -tf.nn.log_softmax(permuted_logits, axis=-1)[:, PERMUTED]
    return 0.5 * (tf.reduce_mean(real) + tf.reduce_mean(perm))


def discriminator_accuracy(real_logits, permuted_logits):
    """Fraction of correctly classified samples over both sets (each set weighted by its size)."""
    real_logits = tf.cast(real_logits, tf.float32)
    permuted_logits = tf.cast(permuted_logits, tf.float32)
    real_ok = tf.cast(real_logits[:, REAL] >= real_logits[:, PERMUTED], tf.float32)
    perm_ok = tf.cast(permuted_logits[:, PERMUTED] > permuted_logits[:, REAL], tf.float32)
    return tf.reduce_mean(tf.concat([real_ok, perm_ok], axis=0))
