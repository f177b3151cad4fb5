"""The poster's table columns for a trained model on a data set (SPEC §5), batched over the data.

Every batch goes through `compute_loss` with the model's own objective (so "loss" is the method's
training loss, with its weights at the model's current step), one posterior sample per image.

MI / TC / dimension-wise KL are not the training step's minibatch estimates: with a batch of a few hundred
and N = 737,280, MSS is biased enough to give a negative TC and an MI above the KL. Here the aggregate
posterior is the mixture over every evaluated point, q(z) = (1/N) Σ_n q(z|x_n), and so is each q(z_j);
only the samples z ~ q(z) are Monte-Carlo (`decomposition_samples` of them, one per randomly chosen
point). The three terms then sum exactly to the Monte-Carlo mean of log q(z|x) − log p(z) over those
samples, an estimate of the analytic KL (`full_data_decomposition`).

Returned keys (means over the points evaluated):
  nats per image:   loss, reconstruction (−E_q log p(x|z)), log_likelihood (E_q log p(x|z), one sample),
                    kl (E_x KL[q(z|x) || p(z)], analytic), elbo, index_code_mi, total_correlation,
                    dimwise_kl, kl_z0 .. kl_z{D-1} (analytic, per latent),
                    dimwise_kl_z0 .. (per-latent KL[q(z_j) || p(z_j)], full-data mixture)
  nats² (per image): var_kl_per_latent — variance over latents of kl_z*;
                    var_dimwise_kl — variance over latents of dimwise_kl_z* (the poster's "Var. Dim. KL")
  nats per pixel:   <loss | reconstruction | log_likelihood | kl | elbo>_per_pixel = the value / (H·W·C).
The poster normalised its KL / log-likelihood / total loss without saying how; we report both scales.
"""

from __future__ import annotations

import math

import numpy as np

PER_PIXEL = ("loss", "reconstruction", "log_likelihood", "kl", "elbo")
_LOG_2PI = math.log(2.0 * math.pi)
JIT = True  # XLA fuses full_data_decomposition's density pipeline (3.8x with the layout, measured)


def full_data_decomposition(mean, log_var, num_samples=2048, seed=0, chunk_size=None) -> dict:
    """Index-code MI, TC and dimension-wise KL with the aggregate posterior summed over every point.

    q(z) = (1/N) Σ_n q(z|x_n) and q(z_j) = (1/N) Σ_n q(z_j|x_n) over all N rows of mean / log_var
    ([N, D] posterior parameters of the data set); the expectations over q(z, x) use `num_samples`
    points drawn without replacement, one z ~ q(z|x) each. Cost: num_samples · N · D log-densities,
    in chunks of `chunk_size` mixture components (one batched log-sum-exp each, no loop over points).

    Returns nats per image: index_code_mi, total_correlation, dimwise_kl (scalars) and
    dimwise_kl_per_latent [D]. The three scalars sum to mean(log q(z|x) − log p(z)) over the samples.
    """
    import tensorflow as tf

    from tfdisvae.objectives.decomposition import log_normal_density

    mean = np.asarray(mean, np.float32)
    log_var = np.asarray(log_var, np.float32)
    n, d = mean.shape
    rng = np.random.default_rng(seed)
    picked = rng.choice(n, size=min(int(num_samples), n), replace=False)
    eps = rng.standard_normal((len(picked), d)).astype(np.float32)
    z = mean[picked] + np.exp(0.5 * log_var[picked]) * eps                     # [S, D]
    if chunk_size is None:  # about 64 MB of float32 per [D, S, chunk] block
        chunk_size = max(1, (16 << 20) // max(1, len(picked) * d))
    chunk_size = min(int(chunk_size), n)
    # Layout [D, S, c] (the components innermost, vectorised) and one exp per density: the marginal
    # mixtures are shifted by each latent's highest component peak, max_n −½(log 2π + log_var_nj), not by
    # a max over the densities (no max pass; as the MI estimator: a density underflows only e^-87 below
    # that peak, while the sample's own component stays within a few nats of it). The joint mixture,
    # a sum over D latents, keeps the exact max-shifted log-sum-exp (over [S, c], D times smaller).
    const = (-0.5 * (_LOG_2PI + log_var)).astype(np.float32)                 # [N, D]
    inv_var = np.exp(-log_var).astype(np.float32)
    shift = const.max(axis=0)                                                 # [D]
    z_t, shift_t = tf.constant(z.T), tf.constant(shift[:, None, None])

    @tf.function(reduce_retracing=True, jit_compile=JIT)
    def chunk(m, c, iv):  # m, c, iv: [D, chunk]
        log_p = c[:, None, :] - 0.5 * tf.square(z_t[:, :, None] - m[:, None, :]) * iv[:, None, :]
        joint = tf.reduce_logsumexp(tf.reduce_sum(log_p, axis=0), axis=1)        # [S]
        return joint, tf.reduce_sum(tf.exp(log_p - shift_t), axis=2)            # [S], [D, S]

    joint, marginal = [], np.zeros((d, len(picked)), np.float64)
    for start in range(0, n, chunk_size):
        sl = slice(start, start + chunk_size)
        parts = [mean[sl].T, const[sl].T, inv_var[sl].T]
        pad = chunk_size - parts[0].shape[1]
        if pad:  # the last chunk: padded with components of density 0 (no retrace)
            parts = [np.pad(a, ((0, 0), (0, pad)), constant_values=v)
                     for a, v in zip(parts, (0.0, -np.inf, 0.0), strict=True)]
        j, m = chunk(*(tf.constant(a) for a in parts))
        joint.append(j.numpy())
        marginal += m.numpy()
    log_n = np.log(n)
    log_qz = np.logaddexp.reduce(np.stack(joint), axis=0) - log_n               # [S]
    with np.errstate(divide="ignore"):
        log_qzj = (np.log(marginal) + shift[:, None]).T - log_n                  # [S, D]
    log_qz_x = np.sum(log_normal_density(z, mean[picked], log_var[picked]).numpy(), axis=1)
    log_pzj = log_normal_density(z, 0.0, 0.0).numpy()                           # [S, D]
    return {
        "index_code_mi": float(np.mean(log_qz_x - log_qz)),
        "total_correlation": float(np.mean(log_qz - log_qzj.sum(axis=1))),
        "dimwise_kl": float(np.mean(log_qzj.sum(axis=1) - log_pzj.sum(axis=1))),
        "dimwise_kl_per_latent": np.mean(log_qzj - log_pzj, axis=0),
    }


def elbo_terms(model, data, num_points=None, batch_size=256, seed=0,
               decomposition_samples=2048, encoding=None) -> dict:
    """The table columns of `model` on `data` (see the module docstring for keys and units).

    Args:
      model: a DisentanglingVAE (encode_params, decode, objective, dataset_size, ...).
      data: a data set with images(indices) and num_examples (GroundTruthData or ImageData).
      num_points: None: every image (the poster's setting); n: n images drawn without replacement.
      batch_size: images per batch (≥ 2).
      seed: order of the images and the posterior samples.
      decomposition_samples: samples z ~ q(z) of the MI / TC / dimension-wise KL estimate (each costs
        one log-density per evaluated point and latent).
      encoding: a sampling.SharedEncoding of `data` under `model`: batches it holds are not encoded
        again, the others are encoded here and stored into it (the same numbers either way).
    """
    import tensorflow as tf

    from tfdisvae import distributions
    from tfdisvae.data.ground_truth import float_images
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
    step = model.step
    tf_seed = int(rng.integers(2**31 - 1))

    @tf.function(reduce_retracing=True)
    def encode(x):
        return model.encode_params(x, training=False)

    @tf.function(reduce_retracing=True)
    def batch_terms(x, mean, log_var, seed):
        z = distributions.posterior(mean, log_var).sample(seed=seed)
        reconstruction = -model.decode(z).log_prob(x)
        logits = model.discriminator(z, training=False) if model.uses_discriminator else None
        terms = compute_loss(model.objective, reconstruction=reconstruction, mean=mean,
                             log_var=log_var, z=z, step=step, dataset_size=dataset_size,
                             tc_logits=logits)
        return terms

    sums, weight, means, log_vars = {}, 0, [], []
    for i, start in enumerate(range(0, count, int(batch_size))):
        idx = np.sort(order[start:start + int(batch_size)])
        if len(idx) < 2:  # a last batch of one cannot form MSS pairs; it is left out
            continue
        x = tf.constant(float_images(data, idx))
        if encoding is not None and encoding.has(idx):
            mean, log_var = (tf.constant(a) for a in encoding.posterior_of(idx))
        else:
            mean, log_var = encode(x)
            if encoding is not None:
                encoding.store(idx, mean.numpy(), log_var.numpy())
        terms = batch_terms(x, mean, log_var, tf.constant([tf_seed, i], tf.int32))
        for name in ("loss", "reconstruction", "kl", "elbo", "kl_per_latent"):
            sums[name] = sums.get(name, 0.0) + np.asarray(terms[name], np.float64) * len(idx)
        weight += len(idx)
        means.append(mean.numpy())
        log_vars.append(log_var.numpy())
    out = {name: value / weight for name, value in sums.items()}
    kl_latent = out.pop("kl_per_latent")
    result = {name: float(value) for name, value in out.items()}
    decomposition = full_data_decomposition(np.concatenate(means), np.concatenate(log_vars),
                                            num_samples=decomposition_samples, seed=seed)
    dimwise_latent = decomposition.pop("dimwise_kl_per_latent")
    result.update(decomposition)
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
