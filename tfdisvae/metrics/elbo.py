"""The poster's table columns for a trained model on a data set (SPEC §5), batched over the data.

Every batch goes through the objectives engineer's `compute_loss` with the model's own objective (so
"loss" is the method's training loss, with its weights at the model's current step), one posterior sample
per image. MI / TC / dimension-wise KL are its minibatch-stratified estimates (Chen et al. 2018, MSS with
N = the data set's size; batches are drawn uniformly without replacement, as MSS assumes), averaged over
batches: larger batches mean less bias in those three; the analytic KL does not depend on the batch.

Returned keys (means over the points evaluated):
  nats per image:   loss, reconstruction (−E_q log p(x|z)), log_likelihood (E_q log p(x|z), one sample),
                    kl (E_x KL[q(z|x) || p(z)], analytic), elbo, index_code_mi, total_correlation,
                    dimwise_kl, kl_z0 .. kl_z{D-1} (analytic, per latent),
                    dimwise_kl_z0 .. (per-latent KL[q(z_j) || p(z_j)], MSS)
  nats² (per image): var_kl_per_latent — variance over latents of kl_z*;
                    var_dimwise_kl — variance over latents of dimwise_kl_z* (the poster's "Var. Dim. KL")
  nats per pixel:   <loss | reconstruction | log_likelihood | kl | elbo>_per_pixel = the value / (H·W·C).
The poster normalised its KL / log-likelihood / total loss without saying how; we report both scales.
"""

from __future__ import annotations

import numpy as np

PER_PIXEL = ("loss", "reconstruction", "log_likelihood", "kl", "elbo")


def _per_latent_dimwise_kl(z, mean, log_var, dataset_size):
    """[D] batch mean of log q(z_j) − log p(z_j), with log q(z_j) by MSS over the batch."""
    import tensorflow as tf

    from tfdisvae.objectives.decomposition import (
        log_importance_weights_mss,
        log_normal_density,
        pairwise_log_density,
    )

    mat = pairwise_log_density(z, mean, log_var)                              # [B, B, D]
    log_w = log_importance_weights_mss(tf.shape(z)[0], dataset_size)         # [B, B]
    log_qzj = tf.reduce_logsumexp(log_w[:, :, None] + mat, axis=1)            # [B, D]
    return tf.reduce_mean(log_qzj - log_normal_density(z, 0.0, 0.0), axis=0)


def elbo_terms(model, data, num_points=None, batch_size=256, seed=0) -> dict:
    """The table columns of `model` on `data` (see the module docstring for keys and units).

    Args:
      model: a DisentanglingVAE (encode_params, decode, objective, dataset_size, ...).
      data: a data set with images(indices) and num_examples (GroundTruthData or ImageData).
      num_points: None: every image (the poster's setting); n: n images drawn without replacement.
      batch_size: images per batch (≥ 2; also the MSS minibatch).
      seed: order of the images and the posterior samples.
    """
    import tensorflow as tf

    from tfdisvae import distributions
    from tfdisvae.objectives.methods import compute_loss

    if int(batch_size) < 2:
        raise ValueError(f"batch_size must be ≥ 2 (the MSS estimator needs pairs), got {batch_size}")
    rng = np.random.default_rng(seed)
    total = int(data.num_examples)
    count = total if num_points is None else min(int(num_points), total)
    if count < 2:
        raise ValueError(f"num_points must be ≥ 2, got {num_points}")
    order = rng.permutation(total)[:count]
    dataset_size = total
    scale = 1.0 / float(getattr(getattr(data, "source", None), "max_value", 1) or 1)
    step = model.step
    tf_seed = int(rng.integers(2**31 - 1))

    @tf.function(reduce_retracing=True)
    def batch_terms(x, seed):
        mean, log_var = model.encode_params(x, training=False)
        z = distributions.posterior(mean, log_var).sample(seed=seed)
        reconstruction = -model.decode(z).log_prob(x)
        logits = model.discriminator(z, training=False) if model.uses_discriminator else None
        terms = compute_loss(model.objective, reconstruction=reconstruction, mean=mean,
                             log_var=log_var, z=z, step=step, dataset_size=dataset_size,
                             tc_logits=logits)
        terms["dimwise_kl_per_latent"] = _per_latent_dimwise_kl(z, mean, log_var, dataset_size)
        return terms

    sums, weight = {}, 0
    for i, start in enumerate(range(0, count, int(batch_size))):
        idx = np.sort(order[start:start + int(batch_size)])
        if len(idx) < 2:  # a last batch of one cannot form MSS pairs; it is left out
            continue
        x = tf.constant(data.images(idx).astype(np.float32) * scale)
        terms = batch_terms(x, tf.constant([tf_seed, i], tf.int32))
        for name in ("loss", "reconstruction", "kl", "elbo", "index_code_mi", "total_correlation",
                     "dimwise_kl", "kl_per_latent", "dimwise_kl_per_latent"):
            sums[name] = sums.get(name, 0.0) + np.asarray(terms[name], np.float64) * len(idx)
        weight += len(idx)
    out = {name: value / weight for name, value in sums.items()}
    kl_latent = out.pop("kl_per_latent")
    dimwise_latent = out.pop("dimwise_kl_per_latent")
    result = {name: float(value) for name, value in out.items()}
    result["log_likelihood"] = -result["reconstruction"]
    for j, value in enumerate(kl_latent):
        result[f"kl_z{j}"] = float(value)
    for j, value in enumerate(dimwise_latent):
        result[f"dimwise_kl_z{j}"] = float(value)
    result["var_kl_per_latent"] = float(np.var(kl_latent))
    result["var_dimwise_kl"] = float(np.var(dimwise_latent))
    pixels = float(np.prod(model.image_shape))
    for name in PER_PIXEL:
        result[f"{name}_per_pixel"] = result[name] / pixels
    result["num_points"] = float(weight)
    return result
