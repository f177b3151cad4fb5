"""The metrics of disentanglement_lib (Locatello et al. 2019), with its defaults, on codes and factors.

Each metric has two ways in:
- arrays: `mig_discrete(codes, factors)`, `dci(codes_train, factors_train, codes_test, factors_test)`, ...
  pure functions of codes [n, D] and int factor classes [n, K] you already have (the scores built on
  special batches take those batches: `factor_vae_score(...)`, `beta_vae_score(...)`);
- ground truth: `compute_<metric>(data, representation_fn, seed, ...)` samples what the metric needs
  from a GroundTruthData (`tfdisvae.data.load_ground_truth`) and calls the array version.
Every result is a flat dict of floats, named for what the number is.

Classifiers are pinned (solver, iterations, regularisation, seed) so scores do not move with scikit-learn
versions. disentanglement_lib passed library defaults that have since changed: LogisticRegression's
default solver was liblinear one-vs-rest before scikit-learn 0.22 and lbfgs multinomial since; LinearSVC's
dual default changed to "auto" in 1.3; GradientBoostingClassifier got no random_state. Our choices are
the constants below; docs/metrics.md lists them.

Constant factors (a single class) are left out of every supervised metric.
Units: mutual informations in nats; scores dimensionless; accuracies in [0, 1].
"""

from __future__ import annotations

import os

import numpy as np

from tfdisvae.metrics import sampling
from tfdisvae.metrics.mig import discrete_entropy, discrete_mutual_information

NUM_BINS = 20                      # histogram bins of MIG (discrete) and modularity
# FactorVAE score: latents whose global STANDARD DEVIATION is below it are pruned (disentanglement_lib's
# factor_vae._prune_dims keeps sqrt(variance) >= 0.05, the threshold of its study configs)
FACTOR_VAE_THRESHOLD = 0.05
# beta-VAE score, explicitness. max_iter=1000 where disentanglement_lib ran sklearn's default 100: the
# fit converges, so the score is the regression's optimum, not where the solver stopped (docs/metrics.md)
LOGISTIC = {"solver": "lbfgs", "C": 1.0, "max_iter": 1000, "tol": 1e-4}
GBT = {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "subsample": 1.0}  # DCI (sklearn defaults)
SVC = {"C": 0.01, "class_weight": "balanced", "loss": "squared_hinge", "dual": False,
       "max_iter": 1000, "tol": 1e-4}                                      # SAP


# ------------------------------------------------------------------------------------------------ checks
def _codes(codes, name="codes") -> np.ndarray:
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or codes.shape[0] < 2 or codes.shape[1] < 1:
        raise ValueError(f"{name} must be [num_points ≥ 2, num_latents ≥ 1], got shape {codes.shape}")
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"{name} hold NaN or Inf; check the representation function")
    return codes


def _factors(factors, num_points, name="factors", drop_constant=True) -> np.ndarray:
    factors = np.asarray(factors)
    if factors.ndim == 1:
        factors = factors[:, None]
    if factors.ndim != 2 or len(factors) != num_points:
        raise ValueError(f"{name} must be int classes [{num_points}, num_factors], got shape "
                         f"{factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise TypeError(f"{name} must be integer class indices, got dtype {factors.dtype}")
    if drop_constant:
        factors = factors[:, [k for k in range(factors.shape[1])
                              if np.unique(factors[:, k]).size > 1]]
        if factors.shape[1] == 0:
            raise ValueError(f"every column of {name} is constant: nothing to score")
    return factors.astype(np.int64)


def _pair(codes_train, factors_train, codes_test, factors_test):
    codes_train = _codes(codes_train, "codes_train")
    codes_test = _codes(codes_test, "codes_test")
    if codes_test.shape[1] != codes_train.shape[1]:
        raise ValueError(f"codes_train has {codes_train.shape[1]} latents, codes_test "
                         f"{codes_test.shape[1]}")
    factors_train = np.asarray(factors_train)
    factors_test = np.asarray(factors_test)
    keep = [k for k in range(np.atleast_2d(factors_train.T).shape[0])
            if np.unique(np.atleast_2d(factors_train.T)[k]).size > 1]
    factors_train = _factors(factors_train, len(codes_train), "factors_train", False)[:, keep]
    factors_test = _factors(factors_test, len(codes_test), "factors_test", False)[:, keep]
    if factors_train.shape[1] == 0:
        raise ValueError("every column of factors_train is constant: nothing to score")
    return codes_train, factors_train, codes_test, factors_test


# ------------------------------------------------------------------------------------- discretisation
def histogram_discretize(codes, num_bins=NUM_BINS) -> np.ndarray:
    """int [n, D]: each latent binned into `num_bins` equal-width bins over its own range (1..num_bins),
    as disentanglement_lib's histogram_discretize."""
    codes = np.asarray(codes, np.float64)
    out = np.zeros(codes.shape, np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def discrete_mi_matrix(discrete_codes, factors) -> np.ndarray:
    """[D, K] I[code_j; v_k] in nats from counts of the discrete codes [n, D] and factors [n, K]."""
    return np.array([[discrete_mutual_information(discrete_codes[:, j], factors[:, k])
                      for k in range(factors.shape[1])] for j in range(discrete_codes.shape[1])])


# ------------------------------------------------------------------------------------------ MIG (discrete)
def mig_discrete(codes, factors, num_bins=NUM_BINS) -> dict:
    """disentanglement_lib's MIG: codes [n, D] binned (num_bins), discrete MI [D, K] in nats, then
    mean_k (I_(D) − I_(D−1)) / H[v_k]. Needs D ≥ 2. Returns {"mig_discrete": float}."""
    codes = _codes(codes)
    factors = _factors(factors, len(codes))
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least 2 latents")
    mi = discrete_mi_matrix(histogram_discretize(codes, num_bins), factors)
    entropy = np.array([discrete_entropy(factors[:, k]) for k in range(factors.shape[1])])
    top = np.sort(mi, axis=0)
    return {"mig_discrete": float(np.mean((top[-1] - top[-2]) / entropy))}


def compute_mig_discrete(data, representation_fn, seed=0, num_points=10_000, num_bins=NUM_BINS,
                         batch_size=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """mig_discrete on `num_points` points drawn uniformly from `data` (default 10,000)."""
    sampling.check_ground_truth(data, "mig_discrete")
    codes, factors = sampling.sample_codes(data, representation_fn, num_points,
                                           sampling.as_rng(seed), batch_size)
    return mig_discrete(codes, factors, num_bins)


# ------------------------------------------------------------------------------------- FactorVAE score
def factor_vae_score(global_codes, train_batches, train_factor_index, eval_batches, eval_factor_index,
                     num_factors=None, std_threshold=FACTOR_VAE_THRESHOLD) -> dict:
    """The FactorVAE score (Kim & Mnih 2018) with a majority-vote classifier (counts, no training).

    Args:
      global_codes: [n, D] codes of points drawn from the data: the global variances (ddof=1).
      train_batches, eval_batches: [num_votes, batch, D] codes of batches that share the class of
        one factor, given by train_factor_index / eval_factor_index ([num_votes] ints).
      num_factors: K (default: max factor index + 1).
      std_threshold: latents whose global standard deviation is below it are pruned (0.05), as
        disentanglement_lib's _prune_dims (sqrt(variance) >= threshold).
    A vote is (fixed factor, argmin over kept latents of local variance / global variance); the
    classifier maps each latent to the factor it most often voted for.
    Returns {"factor_vae_train_accuracy", "factor_vae_eval_accuracy", "factor_vae_unpruned_dims"};
    accuracy in [0, 1], chance 1/K; 0 when every latent is pruned. factor_vae_unpruned_dims counts the
    latents that vote; disentanglement_lib's num_active_dims is len(mask), always D, so the two
    differ (results/ files written before the rename call ours factor_vae_active_dims).
    """
    global_var = np.var(_codes(global_codes, "global_codes"), axis=0, ddof=1)
    active = np.sqrt(global_var) >= std_threshold
    train_factor_index = np.asarray(train_factor_index, np.int64)
    eval_factor_index = np.asarray(eval_factor_index, np.int64)
    if num_factors is None:
        num_factors = int(max(train_factor_index.max(), eval_factor_index.max())) + 1
    if not active.any():
        return {"factor_vae_train_accuracy": 0.0, "factor_vae_eval_accuracy": 0.0,
                "factor_vae_unpruned_dims": 0.0}

    def votes(batches, index):
        batches = np.asarray(batches, np.float64)
        if batches.ndim != 3 or batches.shape[2] != len(global_var) or len(batches) != len(index):
            raise ValueError(f"batches must be [num_votes={len(index)}, batch, {len(global_var)}], got "
                             f"{batches.shape}")
        local = np.var(batches[:, :, active], axis=1, ddof=1) / global_var[active]   # [votes, A]
        table = np.zeros((num_factors, int(active.sum())), np.int64)
        np.add.at(table, (index, np.argmin(local, axis=1)), 1)
        return table

    train_votes = votes(train_batches, train_factor_index)
    eval_votes = votes(eval_batches, eval_factor_index)
    classifier = np.argmax(train_votes, axis=0)                       # latent -> factor
    cols = np.arange(train_votes.shape[1])
    return {"factor_vae_train_accuracy": float(train_votes[classifier, cols].sum() / train_votes.sum()),
            "factor_vae_eval_accuracy": float(eval_votes[classifier, cols].sum() / eval_votes.sum()),
            "factor_vae_unpruned_dims": float(active.sum())}


def _fixed_factor_batches(data, representation_fn, num_votes, batch_size, rng, factors, chunk):
    """[num_votes, batch, D] codes of batches sharing one factor's class, and the factor index [votes]."""
    index = rng.choice(factors, size=int(num_votes))
    classes = data.sample_factors(int(num_votes) * int(batch_size), rng).reshape(
        int(num_votes), int(batch_size), -1)
    rows = np.arange(int(num_votes))
    classes[rows, :, index] = classes[rows, 0, index][:, None]   # [votes, batch]: one shared class
    codes = sampling.represent(data, representation_fn, classes.reshape(-1, classes.shape[2]), chunk)
    return codes.reshape(int(num_votes), int(batch_size), -1), np.searchsorted(factors, index)


def compute_factor_vae_score(data, representation_fn, seed=0, batch_size=64, num_train=10_000,
                             num_eval=5_000, num_variance_estimate=10_000,
                             std_threshold=FACTOR_VAE_THRESHOLD,
                             chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """factor_vae_score with disentanglement_lib's sampling: a factor drawn uniformly (among the varying
    ones), `batch_size` points sharing a random class of it; num_train / num_eval votes; global variances
    from num_variance_estimate points. Defaults as disentanglement_lib (64, 10,000, 5,000, 10,000)."""
    sampling.check_ground_truth(data, "the FactorVAE score")
    rng = sampling.as_rng(seed)
    factors = sampling.varying_factors(data)
    global_codes, _ = sampling.sample_codes(data, representation_fn, num_variance_estimate, rng, chunk)
    train, train_index = _fixed_factor_batches(data, representation_fn, num_train, batch_size, rng,
                                               factors, chunk)
    evals, eval_index = _fixed_factor_batches(data, representation_fn, num_eval, batch_size, rng,
                                              factors, chunk)
    return factor_vae_score(global_codes, train, train_index, evals, eval_index, len(factors),
                            std_threshold)


# ---------------------------------------------------------------------------------------- beta-VAE score
def beta_vae_features(codes_a, codes_b) -> np.ndarray:
    """[num_points, D] mean over the batch of |codes_a − codes_b| for paired batches [num_points, B, D]."""
    return np.mean(np.abs(np.asarray(codes_a, np.float64) - np.asarray(codes_b, np.float64)), axis=1)


def beta_vae_score(train_features, train_labels, eval_features, eval_labels, seed=0) -> dict:
    """The beta-VAE score (Higgins et al. 2017): accuracy of a logistic regression (LOGISTIC settings,
    random_state=seed) predicting the shared factor from beta_vae_features.

    Returns {"beta_vae_train_accuracy", "beta_vae_eval_accuracy"} in [0, 1]; chance 1/K.
    """
    from sklearn.linear_model import LogisticRegression

    x_train = _codes(train_features, "train_features")
    x_eval = _codes(eval_features, "eval_features")
    y_train = np.asarray(train_labels, np.int64)
    y_eval = np.asarray(eval_labels, np.int64)
    if np.unique(y_train).size < 2:
        raise ValueError("beta_vae_score needs training points of at least 2 factors")
    model = LogisticRegression(random_state=_seed_int(seed), **LOGISTIC)
    model.fit(x_train, y_train)
    return {"beta_vae_train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
            "beta_vae_eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval))}


def _seed_int(seed):
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31 - 1))
    return None if seed is None else int(seed)


def _beta_vae_points(data, representation_fn, num_points, batch_size, rng, factors, chunk):
    index = rng.choice(factors, size=int(num_points))
    n = int(num_points) * int(batch_size)
    first = data.sample_factors(n, rng).reshape(int(num_points), int(batch_size), -1)
    second = data.sample_factors(n, rng).reshape(int(num_points), int(batch_size), -1)
    rows = np.arange(int(num_points))
    second[rows, :, index] = first[rows, :, index]
    codes = sampling.represent(data, representation_fn,
                               np.concatenate([first.reshape(n, -1), second.reshape(n, -1)]), chunk)
    codes_a = codes[:n].reshape(int(num_points), int(batch_size), -1)
    codes_b = codes[n:].reshape(int(num_points), int(batch_size), -1)
    return beta_vae_features(codes_a, codes_b), np.searchsorted(factors, index)


def compute_beta_vae_score(data, representation_fn, seed=0, batch_size=64, num_train=10_000,
                           num_eval=5_000, chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """beta_vae_score with disentanglement_lib's sampling: each point = mean |difference| of the codes of
    `batch_size` pairs that share the class of one factor drawn uniformly. Defaults 64, 10,000, 5,000
    (that is 1.9 million images encoded: give smaller sizes for quick checks)."""
    sampling.check_ground_truth(data, "the beta-VAE score")
    rng = sampling.as_rng(seed)
    factors = sampling.varying_factors(data)
    x_train, y_train = _beta_vae_points(data, representation_fn, num_train, batch_size, rng, factors,
                                        chunk)
    x_eval, y_eval = _beta_vae_points(data, representation_fn, num_eval, batch_size, rng, factors,
                                      chunk)
    return beta_vae_score(x_train, y_train, x_eval, y_eval, _seed_int(seed) if seed is not None else 0)


# ------------------------------------------------------------------------------------------------- DCI
def _entropy_base(p, base, axis):
    p = p / p.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(p), 0.0)
    return -(p * logs).sum(axis=axis) / np.log(base)


def dci_from_importance(importance) -> dict:
    """Disentanglement and completeness (Eastwood & Williams 2018) of an importance matrix [D, K] ≥ 0,
    as disentanglement_lib computes them (entropies with base K resp. D, 1e-11 added, weighted means)."""
    importance = np.abs(np.asarray(importance, np.float64))
    num_codes, num_factors = importance.shape
    if importance.sum() == 0:
        importance = np.ones_like(importance)
    per_code = 1.0 - _entropy_base(importance + 1e-11, num_factors, axis=1) if num_factors > 1 \
        else np.ones(num_codes)
    per_factor = 1.0 - _entropy_base(importance + 1e-11, num_codes, axis=0) if num_codes > 1 \
        else np.ones(num_factors)
    total = importance.sum()
    return {"dci_disentanglement": float(np.sum(per_code * importance.sum(axis=1) / total)),
            "dci_completeness": float(np.sum(per_factor * importance.sum(axis=0) / total))}


def gbt_classifier(seed=0, **gbt_options):
    """A GradientBoostingClassifier with the GBT settings (random_state=seed; gbt_options override)."""
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(random_state=_seed_int(seed), **{**GBT, **gbt_options})


def _fit_one(make_model, x_train, y_train, x_test, y_test):
    if np.unique(y_train).size < 2:  # sklearn's classifiers refuse one class: predict it
        return None, 1.0, float(np.mean(y_test == y_train[0]))
    model = make_model()
    model.fit(x_train, y_train)
    return (model, float(np.mean(model.predict(x_train) == y_train)),
            float(np.mean(model.predict(x_test) == y_test)))


def fit_per_factor(make_model, codes_train, factors_train, codes_test, factors_test, n_jobs=1):
    """One classifier per factor column: (models, train accuracies [K], test accuracies [K]).

    make_model() returns an unfitted sklearn classifier. A factor with a single class in the training
    set gets no model (None); it predicts that class. n_jobs > 1 (None: every CPU) fits the factors in
    that many joblib processes, the factor with the most classes first; the models are the same."""
    jobs = [(make_model, codes_train, factors_train[:, k], codes_test, factors_test[:, k])
            for k in range(factors_train.shape[1])]
    n_jobs = len(os.sched_getaffinity(0)) if n_jobs is None else int(n_jobs)
    if n_jobs == 1 or len(jobs) < 2:
        results = [_fit_one(*job) for job in jobs]
    else:
        from joblib import Parallel, delayed

        order = sorted(range(len(jobs)), key=lambda k: -np.unique(factors_train[:, k]).size)
        done = Parallel(n_jobs=min(n_jobs, len(jobs)))(delayed(_fit_one)(*jobs[k]) for k in order)
        results = [result for _, result in sorted(zip(order, done, strict=True))]
    models, train_acc, test_acc = zip(*results, strict=True)
    return list(models), np.asarray(train_acc), np.asarray(test_acc)


def dci(codes_train, factors_train, codes_test, factors_test, seed=0, n_jobs=None,
        **gbt_options) -> dict:
    """DCI (Eastwood & Williams 2018) with one gradient-boosted tree classifier per factor (GBT settings,
    random_state=seed; override with gbt_options, e.g. n_estimators=20 for quick checks), the factors
    fitted in n_jobs processes (None: every CPU; see fit_per_factor).

    Returns {"dci_disentanglement", "dci_completeness", "dci_informativeness_train_accuracy",
    "dci_informativeness_test_accuracy"}: informativeness is the mean classification ACCURACY over factors
    (higher is better), which disentanglement_lib stores under the misleading names
    informativeness_train/test ("err").
    """
    codes_train, factors_train, codes_test, factors_test = _pair(codes_train, factors_train,
                                                                 codes_test, factors_test)
    models, train_acc, test_acc = fit_per_factor(lambda: gbt_classifier(seed, **gbt_options),
                                                 codes_train, factors_train, codes_test, factors_test,
                                                 n_jobs=n_jobs)
    importance = np.stack([np.abs(m.feature_importances_) for m in models], axis=1)
    return {**dci_from_importance(importance),
            "dci_informativeness_train_accuracy": float(np.mean(train_acc)),
            "dci_informativeness_test_accuracy": float(np.mean(test_acc))}


def _train_test(data, representation_fn, seed, num_train, num_test, chunk):
    rng = sampling.as_rng(seed)
    train = sampling.sample_codes(data, representation_fn, num_train, rng, chunk)
    test = sampling.sample_codes(data, representation_fn, num_test, rng, chunk)
    return (*train, *test)


def compute_dci(data, representation_fn, seed=0, num_train=10_000, num_test=5_000,
                chunk=sampling.DEFAULT_BATCH_SIZE, **gbt_options) -> dict:
    """dci on num_train / num_test points drawn uniformly (defaults 10,000 / 5,000, slow with GBT: see
    docs/metrics.md)."""
    sampling.check_ground_truth(data, "DCI")
    return dci(*_train_test(data, representation_fn, seed, num_train, num_test, chunk),
               seed=_seed_int(seed), **gbt_options)


# ------------------------------------------------------------------------------------------------- SAP
def sap(codes_train, factors_train, codes_test, factors_test, seed=0) -> dict:
    """SAP (Kumar et al. 2018), discrete factors: test accuracy of a linear SVM (SVC settings) on each
    single latent for each factor -> score matrix [D, K]; mean over factors of top-1 minus top-2.
    Returns {"sap": float} (dimensionless, 0..1)."""
    from sklearn.svm import LinearSVC

    codes_train, factors_train, codes_test, factors_test = _pair(codes_train, factors_train,
                                                                 codes_test, factors_test)
    if codes_train.shape[1] < 2:
        raise ValueError("SAP needs at least 2 latents")
    scores = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    for j in range(codes_train.shape[1]):
        for k in range(factors_train.shape[1]):
            clf = LinearSVC(random_state=_seed_int(seed), **SVC)
            clf.fit(codes_train[:, j:j + 1], factors_train[:, k])
            scores[j, k] = np.mean(clf.predict(codes_test[:, j:j + 1]) == factors_test[:, k])
    top = np.sort(scores, axis=0)
    return {"sap": float(np.mean(top[-1] - top[-2]))}


def compute_sap(data, representation_fn, seed=0, num_train=10_000, num_test=5_000,
                chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """sap on num_train / num_test points drawn uniformly (defaults 10,000 / 5,000)."""
    sampling.check_ground_truth(data, "SAP")
    return sap(*_train_test(data, representation_fn, seed, num_train, num_test, chunk),
               seed=_seed_int(seed))


# -------------------------------------------------------------------------- modularity / explicitness
def modularity(mi) -> float:
    """Modularity (Ridgeway & Mozer 2018) of an MI matrix [D, K], as disentanglement_lib: per latent
    1 − Σ_{k≠best} I² / (I_best² (K − 1)), 0 for latents with no information; mean over latents."""
    squared = np.square(np.asarray(mi, np.float64))
    best = squared.max(axis=1)
    if squared.shape[1] < 2:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (squared.sum(axis=1) - best) / (best * (squared.shape[1] - 1.0))
    return float(np.mean(np.where(best == 0, 0.0, score)))


def modularity_explicitness(codes_train, factors_train, codes_test, factors_test, seed=0,
                            num_bins=NUM_BINS) -> dict:
    """Modularity (from the discrete MI of histogram-binned codes, nats) and explicitness: one-vs-rest
    ROC-AUC (macro) of a logistic regression (LOGISTIC settings) on standardised codes, per factor,
    averaged. Returns {"modularity", "explicitness_train", "explicitness_test"} (AUC: 0.5 is chance)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize

    codes_train, factors_train, codes_test, factors_test = _pair(codes_train, factors_train,
                                                                 codes_test, factors_test)
    mi = discrete_mi_matrix(histogram_discretize(codes_train, num_bins), factors_train)
    mean = codes_train.mean(axis=0)
    std = codes_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_train = (codes_train - mean) / std
    x_test = (codes_test - mean) / std
    auc_train, auc_test = [], []
    for k in range(factors_train.shape[1]):
        clf = LogisticRegression(random_state=_seed_int(seed), **LOGISTIC)
        clf.fit(x_train, factors_train[:, k])

        def auc(x, y, clf=clf):
            prob = clf.predict_proba(x)
            if len(clf.classes_) == 2:
                return roc_auc_score(y == clf.classes_[1], prob[:, 1])
            target = label_binarize(y, classes=clf.classes_)
            present = target.sum(axis=0) > 0
            present &= target.sum(axis=0) < len(target)
            return roc_auc_score(target[:, present], prob[:, present], average="macro")

        auc_train.append(auc(x_train, factors_train[:, k]))
        auc_test.append(auc(x_test, factors_test[:, k]))
    return {"modularity": modularity(mi), "explicitness_train": float(np.mean(auc_train)),
            "explicitness_test": float(np.mean(auc_test))}


def compute_modularity_explicitness(data, representation_fn, seed=0, num_train=10_000,
                                    num_test=5_000, chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """modularity_explicitness on num_train / num_test points drawn uniformly (10,000 / 5,000)."""
    sampling.check_ground_truth(data, "modularity / explicitness")
    return modularity_explicitness(*_train_test(data, representation_fn, seed, num_train, num_test,
                                                chunk), seed=_seed_int(seed))


# ------------------------------------------------------------------------------------------------- IRS
IRS_DIFF_QUANTILE = 0.99   # disentanglement_lib's default (1.0 is the paper's maximum deviation)


def irs_matrix(groups, codes, diff_quantile=IRS_DIFF_QUANTILE):
    """(IRS matrix [L, K], max deviations [L]) of codes [n, L] against discrete factor groups [n, K].

    Entry (j, k) = 1 − mean over the groups g of v_k of quantile_q |z_j − E[z_j | g]|, divided by
    max_n |z_j − E[z_j]| (Suter et al. 2019, disentanglement_lib's scalable_disentanglement_score)."""
    max_dev = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    deviation = np.zeros((codes.shape[1], groups.shape[1]))
    for k in range(groups.shape[1]):
        values = np.unique(groups[:, k])
        for value in values:
            member = codes[groups[:, k] == value]
            diffs = np.abs(member - member.mean(axis=0))
            deviation[:, k] += np.percentile(diffs, diff_quantile * 100, axis=0)
        deviation[:, k] /= len(values)
    return 1.0 - deviation / max_dev[:, None], max_dev


def irs(codes, factors, diff_quantile=IRS_DIFF_QUANTILE, num_bins=NUM_BINS) -> dict:
    """The interventional robustness score (Suter et al. 2019) as disentanglement_lib computes it.

    The FACTORS are binned (histogram_discretize, num_bins = 20: dSprites' 40 orientations become 20
    groups, its 32 positions uneven pairs), latents with zero variance are dropped, each latent's score
    is the max over factors of irs_matrix, and the IRS is their mean weighted by the max deviations.
    Returns {"irs" (0..1, 1 = each latent unmoved by the other factors), "irs_nonconstant_dims"};
    irs 0 when every latent is constant. (disentanglement_lib's "num_active_dims" of IRS sums the code
    VALUES, a bug: not comparable.)"""
    codes = _codes(codes)
    factors = _factors(factors, len(codes))
    codes = codes[:, np.var(codes, axis=0) > 0]
    if codes.shape[1] == 0:
        return {"irs": 0.0, "irs_nonconstant_dims": 0.0}
    matrix, max_dev = irs_matrix(histogram_discretize(factors, num_bins), codes, diff_quantile)
    per_latent = matrix.max(axis=1)
    score = np.average(per_latent, weights=max_dev) if max_dev.sum() > 0 else per_latent.mean()
    return {"irs": float(score), "irs_nonconstant_dims": float(codes.shape[1])}


def compute_irs(data, representation_fn, seed=0, num_train=10_000, diff_quantile=IRS_DIFF_QUANTILE,
                num_bins=NUM_BINS, chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """irs on num_train points drawn uniformly (10,000, as disentanglement_lib's irs.gin)."""
    sampling.check_ground_truth(data, "IRS")
    codes, factors = sampling.sample_codes(data, representation_fn, num_train,
                                           sampling.as_rng(seed), chunk)
    return irs(codes, factors, diff_quantile, num_bins)


# --------------------------------------------------------------------------------------- unsupervised
def gaussian_total_correlation(codes) -> float:
    """Total correlation in nats of a Gaussian with the covariance of codes [n, D] (as
    disentanglement_lib's unsupervised metric): 0.5·(Σ_j log Cov_jj − log det Cov)."""
    cov = np.atleast_2d(np.cov(_codes(codes), rowvar=False))
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_correlation(codes) -> float:
    """Squared 2-Wasserstein distance between a Gaussian with the covariance Σ of codes [n, D] and the
    product of its marginals (as disentanglement_lib): 2 tr Σ − 2 tr (D^½ Σ D^½)^½, D = diag Σ.
    Units: squared code units; divide by tr Σ for the normalised form."""
    cov = np.atleast_2d(np.cov(_codes(codes), rowvar=False))
    root = np.sqrt(np.diag(cov))
    eig = np.clip(np.linalg.eigvalsh(root[:, None] * cov * root[None, :]), 0.0, None)
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(eig)))


def mutual_info_score(codes, num_bins=NUM_BINS) -> float:
    """Mean discrete MI (nats) between distinct pairs of latents of the binned codes [n, D ≥ 2] (20
    equal-width bins, as disentanglement_lib's unsupervised mutual_info_score)."""
    codes = _codes(codes)
    if codes.shape[1] < 2:
        raise ValueError("mutual_info_score needs at least 2 latents")
    binned = histogram_discretize(codes, num_bins)
    mi = discrete_mi_matrix(binned, binned)
    np.fill_diagonal(mi, 0.0)
    return float(mi.sum() / (mi.shape[0] ** 2 - mi.shape[0]))


def active_dimensions(codes, threshold=0.01) -> int:
    """Active units (Burda et al. 2016): latents whose mean code varies over the data, Var_x(E[z_j|x]) >
    threshold (0.01). codes [n, D] posterior means."""
    return int(np.sum(np.var(_codes(codes), axis=0) > threshold))


def unsupervised(codes, threshold=0.01, num_bins=NUM_BINS) -> dict:
    """disentanglement_lib's unsupervised scores of codes [n, D]: "gaussian_total_correlation" (nats),
    "gaussian_wasserstein_correlation" (squared code units) and its "_norm" (/ tr Σ, dimensionless),
    "mutual_info_score" (nats; only for D ≥ 2), plus "active_dims" (Burda et al.)."""
    codes = _codes(codes)
    wasserstein = gaussian_wasserstein_correlation(codes)
    trace = float(np.trace(np.atleast_2d(np.cov(codes, rowvar=False))))
    out = {"gaussian_total_correlation": gaussian_total_correlation(codes),
           "gaussian_wasserstein_correlation": wasserstein,
           "gaussian_wasserstein_correlation_norm": wasserstein / trace if trace > 0 else 0.0,
           "active_dims": float(active_dimensions(codes, threshold))}
    if codes.shape[1] >= 2:
        out["mutual_info_score"] = mutual_info_score(codes, num_bins)
    return out


def compute_unsupervised(data, representation_fn, seed=0, num_points=10_000,
                         chunk=sampling.DEFAULT_BATCH_SIZE) -> dict:
    """unsupervised on num_points points drawn uniformly (10,000)."""
    sampling.check_ground_truth(data, "the unsupervised scores")
    codes, _ = sampling.sample_codes(data, representation_fn, num_points, sampling.as_rng(seed), chunk)
    return unsupervised(codes)
