"""Unfairness of downstream classifiers (Locatello et al. 2019b, "On the Fairness of Disentangled
Representations", §4), as disentanglement_lib's fairness metric.

For every ordered pair (target i, sensitive j ≠ i): a GBT trained on the codes predicts factor i; on m
base points, factor j is set to each of its classes c in turn (an intervention) and the predictions of
i are counted, giving a [|V_i|, |V_j|] table. Unfairness is the total-variation distance between the
prediction distribution under each intervention c and the pooled one, averaged over c (weighted by the
points per class, `mean_fairness`) or its maximum (`max_fairness`): demographic parity, 0 = fair, 1 =
the prediction is a function of the sensitive factor.
"""

from __future__ import annotations

import numpy as np

from tfdisvae.metrics import sampling
from tfdisvae.metrics.dlib import _codes, _factors, _seed_int, gbt_classifier

NUM_TRAIN = 10_000              # disentanglement_lib's fairness.gin (fairness_study_v1)
NUM_TEST_POINTS_PER_CLASS = 100  # its num_test_points_per_class


def inter_group_fairness(counts):
    """(mean, max) total-variation distance of each column (sensitive class) of counts [P, S] from
    the pooled prediction distribution; the mean weighted by the column totals."""
    counts = np.asarray(counts, np.float64)
    pooled = counts.sum(axis=1) / counts.sum()
    per_class = counts.sum(axis=0)
    tv = 0.5 * np.abs(counts / per_class - pooled[:, None]).sum(axis=0)
    return float(np.sum(tv * per_class) / per_class.sum()), float(tv.max())


def fairness_aggregates(matrix, prefix) -> dict:
    """disentanglement_lib's 8 summaries of an unfairness matrix [K, K] (diagonal unused): rows are
    targets ("pred"), columns sensitive factors ("sens"); e.g. <prefix>_mean_pred_max_sens = mean over
    targets of the max over sensitive factors. Its ':' separators are '_' here."""
    matrix = np.asarray(matrix, np.float64)
    off = ~np.eye(len(matrix), dtype=bool)
    rows = [matrix[i, off[i]] for i in range(len(matrix))]
    cols = [matrix[off[:, j], j] for j in range(len(matrix))]
    row_mean, row_max = [np.mean(r) for r in rows], [np.max(r) for r in rows]
    col_mean, col_max = [np.mean(c) for c in cols], [np.max(c) for c in cols]
    return {f"{prefix}_mean_sens_mean_pred": float(np.mean(col_mean)),
            f"{prefix}_mean_sens_max_pred": float(np.mean(col_max)),
            f"{prefix}_max_sens_mean_pred": float(np.max(col_mean)),
            f"{prefix}_max_sens_max_pred": float(np.max(col_max)),
            f"{prefix}_mean_pred_mean_sens": float(np.mean(row_mean)),
            f"{prefix}_mean_pred_max_sens": float(np.mean(row_max)),
            f"{prefix}_max_pred_mean_sens": float(np.max(row_mean)),
            f"{prefix}_max_pred_max_sens": float(np.max(row_max))}


def fairness_matrices(codes_train, factors_train, interventions, seed=0, **gbt_options):
    """(mean unfairness [K, K], max unfairness [K, K]) (diagonal 0).

    Args:
      codes_train, factors_train: codes [n, D] and int factor classes [n, K ≥ 2] the GBTs learn from.
      interventions: {(i, j): codes [|V_j|, m, D]}, for every i ≠ j: the codes of m base points with
        factor j set to class c (row c). A callable (i, j) -> that array is accepted too.
    """
    codes_train = _codes(codes_train, "codes_train")
    factors_train = _factors(factors_train, len(codes_train), "factors_train", drop_constant=False)
    num_factors = factors_train.shape[1]
    if num_factors < 2:
        raise ValueError("fairness needs at least 2 factors (a target and a sensitive one)")
    get = interventions if callable(interventions) else interventions.__getitem__
    mean = np.zeros((num_factors, num_factors))
    worst = np.zeros((num_factors, num_factors))
    for i in range(num_factors):
        y = factors_train[:, i]
        model = None
        if np.unique(y).size > 1:
            model = gbt_classifier(seed, **gbt_options).fit(codes_train, y)
        for j in range(num_factors):
            if i == j:
                continue
            codes = np.asarray(get((i, j)), np.float64)
            if codes.ndim != 3 or codes.shape[2] != codes_train.shape[1]:
                raise ValueError(f"interventions[({i}, {j})] must be codes [classes of factor {j}, "
                                 f"points, {codes_train.shape[1]}], got shape {codes.shape}")
            flat = codes.reshape(-1, codes.shape[2])
            predicted = (np.full(len(flat), y[0]) if model is None else model.predict(flat))
            predicted = predicted.reshape(codes.shape[:2]).astype(np.int64)
            size = max(int(y.max()), int(predicted.max())) + 1
            counts = np.stack([np.bincount(p, minlength=size) for p in predicted], axis=1)
            mean[i, j], worst[i, j] = inter_group_fairness(counts)
    return mean, worst


def fairness(codes_train, factors_train, interventions, seed=0, **gbt_options) -> dict:
    """{"mean_fairness_*", "max_fairness_*"}: fairness_aggregates of both fairness_matrices.
    The paper's score (Locatello et al. 2019b §4) is mean_fairness_mean_pred_mean_sens."""
    mean, worst = fairness_matrices(codes_train, factors_train, interventions, seed, **gbt_options)
    return {**fairness_aggregates(mean, "mean_fairness"), **fairness_aggregates(worst, "max_fairness")}


def compute_fairness(data, representation_fn, seed=0, num_train=NUM_TRAIN,
                     num_test_points_per_class=NUM_TEST_POINTS_PER_CLASS,
                     chunk=sampling.DEFAULT_BATCH_SIZE, **gbt_options) -> dict:
    """fairness with disentanglement_lib's sampling: num_train uniform points for the GBTs (10,000);
    for each pair (i, j) fresh base points (100), intervened on j at each of its classes, so
    100·(K−1)·Σ_j |V_j| images are encoded (45,200 on dSprites)."""
    sampling.check_ground_truth(data, "fairness")
    rng = sampling.as_rng(seed)
    varying = sampling.varying_factors(data)
    codes_train, factors_train = sampling.sample_codes(data, representation_fn, num_train, rng, chunk)
    num_codes = codes_train.shape[1]

    def intervened(pair):
        _, j = pair
        base = data.sample_factors(int(num_test_points_per_class), rng)
        size = int(data.factor_sizes[varying[j]])
        classes = np.repeat(base[None], size, axis=0)             # [|V_j|, m, K_all]
        classes[:, :, varying[j]] = np.arange(size)[:, None]
        codes = sampling.represent(data, representation_fn, classes.reshape(-1, base.shape[1]), chunk)
        return codes.reshape(size, len(base), num_codes)

    return fairness(codes_train, factors_train, intervened, seed=_seed_int(seed), **gbt_options)
