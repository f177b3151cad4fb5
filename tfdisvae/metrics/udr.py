"""UDR, the unsupervised disentanglement ranking (Duan et al. 2020), as disentanglement_lib's udr_sklearn.

UDR scores each of several trained models by how similarly the OTHER models represent the same
images: a disentangled model's informative latents each match one latent of the others, up to sign and
scale. For a pair (a, b): standardise both codes, zero the latents whose mean KL to the prior is ≤ 0.01
nats, form a similarity matrix R [D_a, D_b] (|Spearman correlation|, or |Lasso coefficients| regressing
b's code on a's with alpha 0.1), keep the informative rows and columns, and score

    (mean over columns of max² / sum  +  mean over rows of max² / sum) / 2        (0/0 counts as 0)

A model's UDR is the median of that score over the other models (it is the pair's second model).
No ground truth is used; the images come from the data set. Dimensionless, 0..1.

    udr(codes_per_model, kl_per_model, correlation="lasso")       arrays in
    compute_udr(data, [posterior_fn, ...], seed)                   encoders in (means, log-variances)
    python -m tfdisvae.evaluate --udr RUN1,RUN2,...                trained runs (docs/metrics.md)
"""

from __future__ import annotations

import numpy as np

from tfdisvae.metrics import sampling

NUM_DATA_POINTS = 1000    # disentanglement_lib's udr configs (udr_sklearn.num_data_points)
KL_THRESHOLD = 0.01       # nats: its kl_filter_threshold (and the fixed 0.01 of its latent mask)
LASSO = {"alpha": 0.1, "fit_intercept": True, "max_iter": 1000, "tol": 1e-4, "selection": "cyclic"}
CORRELATIONS = ("lasso", "spearman")


def spearman_matrix(codes_a, codes_b) -> np.ndarray:
    """[D_a, D_b] |Spearman rank correlation| of every latent pair (NaN where a latent is constant)."""
    from scipy.stats import rankdata

    ra = rankdata(codes_a, axis=0)
    rb = rankdata(codes_b, axis=0)
    ra -= ra.mean(axis=0)
    rb -= rb.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (ra.T @ rb) / np.outer(np.linalg.norm(ra, axis=0), np.linalg.norm(rb, axis=0))
    return np.abs(corr)


def lasso_matrix(codes_a, codes_b, seed=0) -> np.ndarray:
    """[D_a, D_b] |coefficients| of a Lasso (LASSO settings) regressing codes_b on codes_a."""
    from sklearn.linear_model import Lasso

    model = Lasso(random_state=seed, **LASSO)
    model.fit(codes_a, codes_b)
    return np.abs(np.atleast_2d(model.coef_)).T


def relative_strength(similarity) -> float:
    """(mean over columns of max²/sum + mean over rows of max²/sum) / 2 of a matrix ≥ 0 (0/0 -> 0);
    0 for an empty matrix (no informative latent)."""
    r = np.asarray(similarity, np.float64)
    if r.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = np.nan_to_num(np.max(r, axis=0) ** 2 / np.sum(r, axis=0))
        rows = np.nan_to_num(np.max(r, axis=1) ** 2 / np.sum(r, axis=1))
    return float((np.nanmean(cols) + np.nanmean(rows)) / 2.0)


def udr(codes, kls, correlation="lasso", kl_threshold=KL_THRESHOLD, filter_low_kl=True,
        seed=0) -> dict:
    """UDR of M ≥ 2 models from their codes on the same images.

    Args:
      codes: M arrays [n, D_m] (posterior means), row i of each from the same image.
      kls: M arrays [D_m]: mean KL to the prior per latent (viz.grids.mean_kl_per_latent), nats.
      correlation: "lasso" or "spearman".
    Returns {"model_scores": [M] (each model's UDR), "pairwise": [M, M] (score of pair (a, b) at
    [a, b], diagonal 0)}.
    """
    if correlation not in CORRELATIONS:
        raise ValueError(f"correlation must be one of {', '.join(CORRELATIONS)}, got {correlation!r}")
    if len(codes) < 2 or len(codes) != len(kls):
        raise ValueError(f"UDR compares at least 2 models: got {len(codes)} codes and {len(kls)} KL "
                         "vectors (one each per model)")
    n = len(codes[0])
    reps, masks = [], []
    for m, (z, kl) in enumerate(zip(codes, kls, strict=True)):
        z = np.asarray(z, np.float64)
        kl = np.asarray(kl, np.float64)
        if z.ndim != 2 or len(z) != n or kl.shape != (z.shape[1],):
            raise ValueError(f"model {m}: codes must be [{n}, D] and kl [D], got {z.shape} and "
                             f"{kl.shape}")
        std = z.std(axis=0)
        z = (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)    # sklearn's StandardScaler
        reps.append(z * (kl > KL_THRESHOLD))
        masks.append(kl > kl_threshold)
    num = len(reps)
    pairwise = np.zeros((num, num))
    for a in range(num):
        for b in range(num):
            if a == b:
                continue
            sim = (lasso_matrix(reps[a], reps[b], seed) if correlation == "lasso"
                   else spearman_matrix(reps[a], reps[b]))
            if filter_low_kl:
                sim = sim[masks[a]][:, masks[b]]
            pairwise[a, b] = relative_strength(sim)
    scores = np.array([np.median(np.delete(pairwise[:, m], m)) for m in range(num)])
    return {"model_scores": scores, "pairwise": pairwise}


def compute_udr(data, posterior_fns, seed=0, num_data_points=NUM_DATA_POINTS,
                correlations=CORRELATIONS, chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """UDR of the models behind posterior_fns (fn(images) -> (means, log_vars), e.g.
    sampling.posterior_from_model) on num_data_points images drawn uniformly (1,000) from data (any
    ImageData: no factors are used).

    Returns {"udr_<correlation>": [M] model scores, "udr_<correlation>_pairwise": [M, M]} per
    correlation ("lasso", "spearman")."""
    from tfdisvae.viz.grids import mean_kl_per_latent

    rng = sampling.as_rng(seed)
    index = rng.integers(data.num_examples, size=int(num_data_points))   # no factors needed
    codes, kls = [], []
    for fn in posterior_fns:
        means, log_vars = [], []
        for start in range(0, len(index), int(chunk)):
            m, lv = fn(sampling.float_images(data, index[start:start + int(chunk)]))
            means.append(np.asarray(m, np.float64))
            log_vars.append(np.asarray(lv, np.float64))
        codes.append(np.concatenate(means))
        kls.append(mean_kl_per_latent(codes[-1], np.concatenate(log_vars)))
    out = {}
    for correlation in correlations:
        result = udr(codes, kls, correlation, seed=int(seed) if not isinstance(
            seed, np.random.Generator) else 0)
        out[f"udr_{correlation}"] = result["model_scores"]
        out[f"udr_{correlation}_pairwise"] = result["pairwise"]
    return out
