"""Scores from a mutual-information matrix I[z_j; v_k] ([K, D], nats): MIG, MMIG and AAM; factor entropies.

- MIG (Chen et al. 2018, Eq. 6): (1/K) Σ_k (I_(D) − I_(D−1)) / H[v_k], the gap between the two most
  informative latents of each factor, normalised by the factor's entropy. 1: one latent holds all of
  v_k and no other latent holds any of it; 0: the two best latents hold the same.
- MMIG (the poster, Eq. 3): the same gap divided by H[v_k] − max_{k'≠k} I[v_k; v_k'], what v_k holds
  beyond its most dependent other factor. For independent factors (dSprites) it equals MIG.
- AAM, axis-alignment metric (the poster, Eq. 2): (1/K) Σ_k max(I_(D) − Σ_{j'=1}^{D−1} I_(j'), 0) / I_(D)
  with I_(1) ≤ ... ≤ I_(D) the sorted I[z_j; v_k]: 1 when one latent alone carries what the code knows of
  v_k, 0 when the others together carry as much as the best one. A factor no latent knows anything of
  (I_(D) = 0) scores 0. AAM does not look at H[v_k], so it is unchanged when a factor is captured only
  partly; MIG is not.
Negative entries (Monte-Carlo noise of the estimator) are clipped to 0 by all three.
"""

from __future__ import annotations

import numpy as np


def _check_mi(mi) -> np.ndarray:
    mi = np.asarray(mi, np.float64)
    if mi.ndim != 2:
        raise ValueError(f"the MI matrix must be [num_factors, num_latents], got shape {mi.shape}")
    if mi.shape[1] < 2:
        raise ValueError(f"MIG/MMIG/AAM need at least 2 latents, got {mi.shape[1]}")
    if not np.all(np.isfinite(mi)):
        raise ValueError("the MI matrix holds NaN or Inf")
    return np.maximum(mi, 0.0)


def discrete_entropy(labels) -> float:
    """Entropy in nats of the empirical distribution of int labels [n]."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def discrete_mutual_information(a, b) -> float:
    """I[a; b] in nats of the empirical joint distribution of two int label arrays [n] (counts)."""
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"labels of different lengths: {a.shape} and {b.shape}")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1), np.float64)
    np.add.at(joint, (ai, bi), 1.0)
    joint /= joint.sum()
    pa = joint.sum(axis=1, keepdims=True)
    pb = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * (np.log(joint[nz]) - np.log((pa @ pb)[nz]))))


def factor_entropies(factors) -> np.ndarray:
    """H[v_k] in nats of each column of int factors [N, K] (empirical distribution): [K]."""
    factors = np.asarray(factors)
    return np.array([discrete_entropy(factors[:, k]) for k in range(factors.shape[1])])


def factor_mutual_information(factors) -> np.ndarray:
    """[K, K] I[v_k; v_k'] in nats between the factor columns (diagonal: H[v_k])."""
    factors = np.asarray(factors)
    num = factors.shape[1]
    out = np.zeros((num, num))
    for k in range(num):
        for k2 in range(k, num):
            out[k, k2] = out[k2, k] = discrete_mutual_information(factors[:, k], factors[:, k2])
    return out


def _gaps(mi):
    top = np.sort(mi, axis=1)
    return top[:, -1] - top[:, -2]


def _check_entropy(values, num, name):
    values = np.asarray(values, np.float64).ravel()
    if values.shape != (num,):
        raise ValueError(f"{name} must have one entry per factor row of the MI matrix ({num}), got "
                         f"{values.shape}")
    if np.any(values <= 0):
        raise ValueError(f"{name} must be > 0 for every factor (a constant factor has none to "
                         "capture); drop constant factors first")
    return values


def mig_per_factor(mi, factor_entropy) -> np.ndarray:
    """[K] (I_(D) − I_(D−1)) / H[v_k]."""
    mi = _check_mi(mi)
    return _gaps(mi) / _check_entropy(factor_entropy, mi.shape[0], "factor_entropy")


def mig(mi, factor_entropy) -> float:
    """Mutual information gap, mean over factors (dimensionless, 0..1). mi [K, D], factor_entropy [K]."""
    return float(np.mean(mig_per_factor(mi, factor_entropy)))


def mmig(mi, factor_entropy, factor_mi=None) -> float:
    """The poster's MMIG: gap / (H[v_k] − max_{k'≠k} I[v_k; v_k']), mean over factors.

    factor_mi: [K, K] I[v_k; v_k'] (factor_mutual_information); None: independent factors (= MIG).
    """
    mi = _check_mi(mi)
    entropy = _check_entropy(factor_entropy, mi.shape[0], "factor_entropy")
    if factor_mi is None:
        return mig(mi, entropy)
    factor_mi = np.asarray(factor_mi, np.float64)
    if factor_mi.shape != (mi.shape[0], mi.shape[0]):
        raise ValueError(f"factor_mi must be [{mi.shape[0]}, {mi.shape[0]}], got {factor_mi.shape}")
    off = factor_mi - np.diag(np.diag(factor_mi)) - np.diag(np.full(mi.shape[0], np.inf))
    most_shared = np.max(off, axis=1) if mi.shape[0] > 1 else np.zeros(1)
    norm = entropy - np.maximum(most_shared, 0.0)
    if np.any(norm <= 0):
        raise ValueError("a factor is determined by another one (H[v_k] = max I[v_k; v_k']): MMIG is "
                         "undefined for it; drop one of the two")
    return float(np.mean(_gaps(mi) / norm))


# Below this many nats the best latent holds no information about a factor: AAM's ratio would then
# compare estimator round-off (a code that ignores its input, where one latent's I is 1e-6 nats and the
# others' 0, would score a perfect 1). Such a factor scores 0, as MIG's gap does.
NEGLIGIBLE_MI = 1e-3


def aam_per_factor(mi, negligible=NEGLIGIBLE_MI) -> np.ndarray:
    """[K] max(I_(D) − Σ_{j'<D} I_(j'), 0) / I_(D); 0 where I_(D) < `negligible` nats (not captured)."""
    mi = _check_mi(mi)
    top = mi.max(axis=1)
    rest = mi.sum(axis=1) - top
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(top >= negligible, np.maximum(top - rest, 0.0) / top, 0.0)
    return score


def aam(mi, negligible=NEGLIGIBLE_MI) -> float:
    """Axis-alignment metric (poster Eq. 2), mean over factors (dimensionless, 0..1). mi [K, D] in nats;
    a factor whose best latent holds less than `negligible` nats about it scores 0."""
    return float(np.mean(aam_per_factor(mi, negligible)))


def poster_scores(estimate) -> dict:
    """{"mig", "mmig", "aam"} of a MutualInformationEstimate (its mi, factor_entropy and factor_mi)."""
    return {"mig": mig(estimate.mi, estimate.factor_entropy),
            "mmig": mmig(estimate.mi, estimate.factor_entropy, estimate.factor_mi),
            "aam": aam(estimate.mi)}
