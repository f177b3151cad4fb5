"""The poster's estimator of I[z_j; v_k] from the encoder's Gaussians (after Chen et al. 2018, §5 / App. C).

For N data points x_n with factor classes v(x_n) and posteriors q(z_j|x_n) = N(mean_nj, exp(log_var_nj)):

    q(z_j)           = (1/N)   Σ_n             q(z_j | x_n)
    q(z_j | v_k = v) = (1/N_v) Σ_{n: v_k(n)=v} q(z_j | x_n)          (N_v points carry class v)
    H[z_j]       = −E_{x~p(x), z~q(z|x)} log q(z_j)
    H[z_j | v_k] = −E_{x~p(x), z~q(z|x)} log q(z_j | v_k = v_k(x))    (= Σ_v p(v) H[z_j | v_k = v])
    I[z_j; v_k]  = H[z_j] − H[z_j | v_k]                              nats

Monte-Carlo, vectorised in TensorFlow:
- Samples: S data points, one z ~ q(z|x) each (all D latents at once). On a complete factor grid (every
  combination once, as dSprites) the points are a Latin-hypercube sample of the grid: every class of every
  factor gets S/|V_k| samples (±1), i.e. sampling is stratified over p(v_k) for all k at once and over
  p(x_n). Otherwise points are drawn without replacement. With S ≥ N every point is used S // N times.
- Mixture densities: 1-D Gaussian densities of every sample against M mixture components, in chunks of
  samples, shifted by their maximum (a batched log-sum-exp), then summed per factor class with one matmul
  against the [M, Σ_k |V_k|] class indicator matrix — every conditional mixture of every factor at once.
  * num_components=None (or ≥ N): all N points, the mixtures are exact; only the z's are sampled.
  * otherwise a stratified estimate, like minibatch-stratified sampling (Chen et al., App. C.2): the
    sample's own component with its exact weight 1/N_v, plus the M components (a Latin-hypercube sample of
    the grid, so each class holds M/|V_k| of them; the sample's own point removed) standing for the
    remaining N_v − 1 points: q̂(z|v) = q(z|x_own)/N_v + (1 − 1/N_v)·mean_{c in class v} q(z|x_c).
    q̂ is unbiased for q; log q̂ carries the small downward Jensen bias of any sampled log-density.
Costs: S·M·D Gaussian log-densities and S·M·D·Σ_k|V_k| multiply-adds; peak memory about
chunk_size·M·D·4 bytes × 4. See benchmarks/metrics_time.py and docs/metrics.md for measured times.

Constant factors (one class, e.g. dSprites' color when given) carry no information (H[v_k] = 0); they are
left out by default (exclude_constant=True) and their rows are absent from the returned matrix.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

_LOG_2PI = math.log(2.0 * math.pi)
JIT = True  # XLA fuses the density pipeline: about 1.6x faster on CPU (measured)
DEFAULT_NUM_SAMPLES = 2_000


@dataclasses.dataclass
class MutualInformationEstimate:
    """Result of `estimate_mutual_information`. All entropies and informations in nats.

    Attributes:
      mi: [K, D] I[z_j; v_k] (rows: the kept factors, columns: latents). Raw estimates: they can be
        slightly negative for uninformative pairs (Monte-Carlo noise); mig/aam clip at 0.
      marginal_entropy: [D] H[z_j].
      conditional_entropy: [K, D] H[z_j | v_k].
      factor_entropy: [K] H[v_k] of the empirical factor distribution.
      factor_indices: [K] columns of the input factor table the rows refer to.
      factor_mi: [K, K] I[v_k; v_k'] between the factors (diagonal H[v_k]), for MMIG.
      num_samples, num_components: S and M used (M = N when the mixtures were exact).
      seed: the seed used.
    """

    mi: np.ndarray
    marginal_entropy: np.ndarray
    conditional_entropy: np.ndarray
    factor_entropy: np.ndarray
    factor_indices: np.ndarray
    factor_mi: np.ndarray
    num_samples: int
    num_components: int
    seed: int | None


def _check_inputs(means, log_vars, factors, factor_sizes):
    means = np.asarray(means, np.float32)
    log_vars = np.asarray(log_vars, np.float32)
    factors = np.asarray(factors)
    if means.ndim != 2:
        raise ValueError(f"posterior_means must be [N, latent_dim], got shape {means.shape}")
    if log_vars.shape != means.shape:
        raise ValueError(f"posterior_log_vars must have the shape of posterior_means {means.shape}, "
                         f"got {log_vars.shape}")
    if factors.ndim != 2 or len(factors) != len(means):
        raise ValueError(f"factors must be int class indices [N={len(means)}, K], got shape "
                         f"{factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise TypeError(f"factors must be integer class indices, got dtype {factors.dtype}; map "
                        "factor values to classes 0..|V_k|-1 first")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(log_vars))):
        raise ValueError("posterior_means / posterior_log_vars hold NaN or Inf; check the encoder")
    factors = factors.astype(np.int64)
    if factor_sizes is None:
        factor_sizes = factors.max(axis=0) + 1
    factor_sizes = np.asarray(factor_sizes, np.int64)
    if factor_sizes.shape != (factors.shape[1],):
        raise ValueError(f"factor_sizes has {factor_sizes.size} entries for {factors.shape[1]} "
                         "factor columns")
    if factors.min() < 0 or np.any(factors.max(axis=0) >= factor_sizes):
        raise ValueError(f"factor classes must lie in 0..factor_sizes-1 (factor_sizes "
                         f"{factor_sizes.tolist()})")
    return means, log_vars, factors, factor_sizes


def kept_factors(factors, factor_sizes, exclude_constant=True) -> np.ndarray:
    """Indices of the factors a metric uses: all, or those with more than one class present."""
    factors = np.asarray(factors)
    if not exclude_constant:
        return np.arange(factors.shape[1])
    varying = [k for k in range(factors.shape[1])
               if factor_sizes[k] > 1 and np.unique(factors[:, k]).size > 1]
    return np.asarray(varying, np.int64)


def is_complete_grid(factors, factor_sizes) -> bool:
    """True when the rows of `factors` are every combination of classes exactly once."""
    factors = np.asarray(factors)
    if len(factors) != int(np.prod(factor_sizes)):
        return False
    flat = np.ravel_multi_index(factors.T, factor_sizes)
    return np.unique(flat).size == len(factors)


def stratified_points(factors, factor_sizes, n, rng: np.random.Generator) -> np.ndarray:
    """n row indices of `factors`, stratified over every factor when the rows form a complete grid.

    Complete grid: a Latin-hypercube sample (each class of factor k appears n/|V_k| times, ±1, at random
    offsets, combined at random), so classes are balanced for all factors at once. Otherwise n rows
    without replacement (with replacement if n > N). Returns int64 [n].
    """
    factors = np.asarray(factors)
    num = len(factors)
    if not is_complete_grid(factors, factor_sizes):
        return rng.choice(num, size=n, replace=n > num).astype(np.int64)
    classes = np.empty((n, len(factor_sizes)), np.int64)
    for k, size in enumerate(factor_sizes):
        balanced = (np.arange(n) + rng.integers(size)) % size
        classes[:, k] = rng.permutation(balanced)
    row_of = np.empty(num, np.int64)
    row_of[np.ravel_multi_index(factors.T, factor_sizes)] = np.arange(num)
    return row_of[np.ravel_multi_index(classes.T, factor_sizes)]


def _sample_points(factors, factor_sizes, n, rng):
    num = len(factors)
    full, rest = divmod(int(n), num)
    parts = [np.tile(np.arange(num, dtype=np.int64), full)]
    if rest:
        parts.append(stratified_points(factors, factor_sizes, rest, rng))
    return np.concatenate(parts)


def _build_chunk_fn(exact: bool, grid_sizes=None, kept=None):
    """The per-chunk TF function. grid_sizes: the components are the complete grid in row-major
    order, so class sums are reductions of the reshaped densities instead of a one-hot matmul."""
    import tensorflow as tf

    def class_sums(dens, onehot):  # dens [D, s, M] -> [D, s, C]
        if grid_sizes is None:
            return tf.linalg.matmul(dens, onehot)
        # Two passes over the densities: one sums out the last factor, one keeps only it; every other
        # factor's sums come from the first (1/|V_last| the size).
        lead = tf.shape(dens)[:2]
        last = len(grid_sizes) - 1
        head = tf.reshape(dens, tf.concat([lead, [-1, grid_sizes[last]]], axis=0))
        sums_last = tf.reduce_sum(head, axis=2)                        # [D, s, |V_last|]
        rest = tf.reshape(tf.reduce_sum(head, axis=3),
                          tf.concat([lead, tf.constant(grid_sizes[:last], tf.int32)], axis=0))
        axes = list(range(2, 2 + last))
        sums = [sums_last if k == last else
                tf.reduce_sum(rest, axis=[a for a in axes if a != 2 + k]) for k in kept]
        return tf.concat(sums, axis=2)

    def chunk(z_t, own_lp, sample_cols, in_comp, mean_t, const_t, inv_var_t, onehot, comp_rows,
              sample_rows, log_nv, log_1m_nv, log_count, log_n, log_1m_n, num_comp):
        # z_t [D, s]; mean_t, const_t, inv_var_t [D, M]; onehot [M, C]; sample_cols [s, K]
        diff = z_t[:, :, None] - mean_t[:, None, :]                      # [D, s, M]
        log_p = const_t[:, None, :] - 0.5 * tf.square(diff) * inv_var_t[:, None, :]
        if not exact:  # the sample's own point stands in its own stratum, not among the others
            own = tf.equal(sample_rows[:, None], comp_rows[None, :])      # [s, M]
            log_p = tf.where(own[None], tf.constant(-np.inf, tf.float32), log_p)
        # Shift by the largest density peak of each latent: no overflow; underflow only where a
        # density is e^-87 below the sharpest component's peak (std ratios beyond e^-80).
        shift = tf.reduce_max(const_t, axis=1)[:, None, None]             # [D, 1, 1]
        dens = tf.exp(log_p - shift)
        log_class = tf.math.log(class_sums(dens, onehot)) + shift      # [D, s, C]
        log_all = tf.math.log(tf.reduce_sum(dens, axis=2)) + shift[:, :, 0]  # [D, s]
        log_class = tf.gather(tf.transpose(log_class, [1, 2, 0]), sample_cols, batch_dims=1)  # [s,K,D]
        log_all = tf.transpose(log_all)                                       # [s, D]
        if exact:
            log_cond = log_class - log_nv[:, :, None]
            log_marg = log_all - log_n
        else:
            own_lp_k = own_lp[:, None, :]
            log_cond = tf.reduce_logsumexp(tf.stack([
                own_lp_k - log_nv[:, :, None],
                log_1m_nv[:, :, None] + log_class - log_count[:, :, None]]), axis=0)
            log_m_s = tf.math.log(num_comp - tf.cast(in_comp, tf.float32))[:, None]
            log_marg = tf.reduce_logsumexp(tf.stack([
                own_lp - log_n, log_1m_n + log_all - log_m_s]), axis=0)
        return -tf.reduce_sum(log_marg, axis=0), -tf.reduce_sum(log_cond, axis=0)

    return tf.function(chunk, reduce_retracing=True, jit_compile=JIT)


def estimate_mutual_information(posterior_means, posterior_log_vars, factors, factor_sizes=None, *,
                                num_samples=DEFAULT_NUM_SAMPLES, num_components=None, seed=0,
                                chunk_size=None,
                                exclude_constant=True) -> MutualInformationEstimate:
    """I[z_j; v_k] for every kept factor and latent, with the entropies behind it (see module docstring).

    Args:
      posterior_means: [N, D] means of q(z|x_n) (float).
      posterior_log_vars: [N, D] log-variances of q(z|x_n).
      factors: [N, K] int factor classes of x_n.
      factor_sizes: K class counts (default: max class + 1 per column).
      num_samples: S, Monte-Carlo samples (data points, one z each).
      num_components: M, mixture components per sample; None: all N (exact mixtures).
      seed: int seed of the point choice and the z noise (numpy Generator).
      chunk_size: samples per TensorFlow call; memory ≈ 16·chunk_size·M·D bytes.
      exclude_constant: drop factors with a single class (their H[v_k] = 0).
    Returns:
      MutualInformationEstimate (mi [K, D] in nats, ...).
    """
    import tensorflow as tf

    from tfdisvae.metrics.mig import factor_entropies, factor_mutual_information

    means, log_vars, factors, factor_sizes = _check_inputs(posterior_means, posterior_log_vars,
                                                           factors, factor_sizes)
    if int(num_samples) < 1:
        raise ValueError(f"num_samples must be ≥ 1, got {num_samples}")
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be ≥ 1, got {chunk_size}")
    kept = kept_factors(factors, factor_sizes, exclude_constant)
    if kept.size == 0:
        raise ValueError("every factor is constant: there is no information to measure")
    num, dim = means.shape
    sizes_kept = factor_sizes[kept]
    rng = np.random.default_rng(seed)
    exact = num_components is None or int(num_components) >= num
    grid = is_complete_grid(factors, factor_sizes)
    if exact and grid:  # components in row-major grid order: class sums by reshaping
        comp_rows = np.empty(num, np.int64)
        comp_rows[np.ravel_multi_index(factors.T, factor_sizes)] = np.arange(num)
    elif exact:
        comp_rows = np.arange(num, dtype=np.int64)
    else:
        if int(num_components) < int(sizes_kept.max()):
            raise ValueError(f"num_components={num_components} is below the largest factor's class count "
                             f"({sizes_kept.max()}); every class needs components: use more, or None")
        comp_rows = stratified_points(factors, factor_sizes, int(num_components), rng)
    sample_rows = _sample_points(factors, factor_sizes, int(num_samples), rng)
    eps = rng.standard_normal((len(sample_rows), dim)).astype(np.float32)
    z = means[sample_rows] + np.exp(0.5 * log_vars[sample_rows]) * eps           # [S, D]
    own_lp = (-0.5 * (_LOG_2PI + log_vars[sample_rows]) - 0.5 * np.square(eps)).astype(np.float32)

    offsets = np.concatenate([[0], np.cumsum(sizes_kept)[:-1]])
    num_cols = int(sizes_kept.sum())
    comp_classes = factors[comp_rows][:, kept]
    class_count = np.concatenate([np.bincount(comp_classes[:, k], minlength=sizes_kept[k])
                                  for k in range(len(kept))]).astype(np.float64)  # [C] components
    if exact and grid:
        onehot = np.zeros((1, 1), np.float32)  # unused: class sums come from reshaping
    else:
        onehot = np.zeros((len(comp_rows), num_cols), np.float32)
        for k in range(len(kept)):
            onehot[np.arange(len(comp_rows)), offsets[k] + comp_classes[:, k]] = 1.0
    data_count = np.concatenate([np.bincount(factors[:, k], minlength=factor_sizes[k])
                                 for k in kept]).astype(np.float64)           # [C] points N_v
    sample_cols = factors[sample_rows][:, kept] + offsets                         # [S, K]
    in_comp = (np.isin(sample_rows, comp_rows) if not exact
               else np.zeros(len(sample_rows), bool))
    n_v = data_count[sample_cols]
    count = np.maximum(class_count[sample_cols] - in_comp[:, None], 1.0)
    with np.errstate(divide="ignore"):
        log_nv = np.log(n_v).astype(np.float32)
        log_1m_nv = np.log1p(-1.0 / n_v).astype(np.float32)
    log_count = np.log(count).astype(np.float32)

    mean_t = tf.constant(means[comp_rows].T)
    const_t = tf.constant((-0.5 * (_LOG_2PI + log_vars[comp_rows])).T)
    inv_var_t = tf.constant(np.exp(-log_vars[comp_rows]).T)
    onehot_t = tf.constant(onehot)
    comp_rows_t = tf.constant(comp_rows)
    scalars = (tf.constant(math.log(num), tf.float32),
               tf.constant(math.log1p(-1.0 / num) if num > 1 else -np.inf, tf.float32),
               tf.constant(float(len(comp_rows)), tf.float32))
    chunk_fn = _build_chunk_fn(exact, tuple(int(x) for x in factor_sizes) if exact and grid else None,
                               tuple(int(k) for k in kept))
    if chunk_size is None:  # about 2^24 densities (64 MB) per temporary
        chunk_size = max(1, min(1024, (1 << 24) // (len(comp_rows) * dim)))
    h_marg = np.zeros(dim, np.float64)
    h_cond = np.zeros((len(kept), dim), np.float64)
    for start in range(0, len(sample_rows), int(chunk_size)):
        sl = slice(start, start + int(chunk_size))
        hm, hc = chunk_fn(tf.constant(z[sl].T), tf.constant(own_lp[sl]), tf.constant(sample_cols[sl]),
                          tf.constant(in_comp[sl]), mean_t, const_t, inv_var_t, onehot_t,
                          comp_rows_t, tf.constant(sample_rows[sl]), tf.constant(log_nv[sl]),
                          tf.constant(log_1m_nv[sl]), tf.constant(log_count[sl]), *scalars)
        h_marg += hm.numpy()
        h_cond += hc.numpy()
    h_marg /= len(sample_rows)
    h_cond /= len(sample_rows)
    return MutualInformationEstimate(
        mi=h_marg[None, :] - h_cond, marginal_entropy=h_marg, conditional_entropy=h_cond,
        factor_entropy=factor_entropies(factors[:, kept]), factor_indices=kept,
        factor_mi=factor_mutual_information(factors[:, kept]),
        num_samples=len(sample_rows), num_components=len(comp_rows), seed=seed)


def mutual_information(posterior_means, posterior_log_vars, factors, factor_sizes=None, **options):
    """The [K, D] matrix I[z_j; v_k] in nats (rows: non-constant factors by default). Options as
    `estimate_mutual_information` (num_samples, num_components, seed, chunk_size, exclude_constant)."""
    return estimate_mutual_information(posterior_means, posterior_log_vars, factors, factor_sizes,
                                       **options).mi


def compute_mutual_information(data, posterior_fn, seed=0, num_points=None,
                               num_samples=DEFAULT_NUM_SAMPLES, num_components=None,
                               batch_size=512, chunk_size=None) -> MutualInformationEstimate:
    """The estimate on a ground-truth data set: encode its points, then estimate_mutual_information.

    Args:
      data: GroundTruthData (tfdisvae.data.load_ground_truth).
      posterior_fn: fn(images [n, H, W, C] float in [0, 1]) -> (means [n, D], log_vars [n, D]), e.g.
        tfdisvae.metrics.posterior_from_model(model).
      seed: int seed of the point choice and the Monte-Carlo samples.
      num_points: None: every point of the data set (the poster's setting); n: a stratified sample of n
        points (Latin hypercube over the grid), whose mixtures then stand for q(z) — for quick checks.
      num_samples, num_components, chunk_size: as estimate_mutual_information.
      batch_size: images per posterior_fn call.
    """
    from tfdisvae.metrics import sampling

    sampling.check_ground_truth(data, "the mutual information estimate")
    rng = np.random.default_rng(seed)
    if num_points is None or int(num_points) >= data.num_examples:
        indices = np.arange(data.num_examples, dtype=np.int64)
    else:
        all_factors = data.factors(np.arange(data.num_examples))
        indices = np.unique(stratified_points(all_factors, data.factor_sizes, int(num_points), rng))
    classes = data.factors(indices)
    means, log_vars = sampling.encode_points(data, posterior_fn, classes, batch_size)
    return estimate_mutual_information(means, log_vars, classes, data.factor_sizes,
                                       num_samples=num_samples, num_components=num_components,
                                       seed=int(rng.integers(2**31 - 1)), chunk_size=chunk_size)
