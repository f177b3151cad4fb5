"""Metrics by name, for `evaluate` and the training callback: one call computes a chosen subset.

    compute_metrics(model, data, ["mig", "aam", "dci"], seed=0, num_points=2048)
    -> {"mig": ..., "mmig": ..., "aam": ..., "dci_disentanglement": ..., ...}   (flat dict of floats)

Names and what they add (see docs/metrics.md):
  mig, mmig, aam         the poster's estimator (mutual_information.py) on the encoder's Gaussians;
                         asking for any of the three computes the estimate once and reports all three
  mig_discrete           disentanglement_lib's histogram MIG
  factor_vae_score       factor_vae_train_accuracy, factor_vae_eval_accuracy, factor_vae_unpruned_dims
  beta_vae_score         beta_vae_train_accuracy, beta_vae_eval_accuracy
  dci                    dci_disentanglement, dci_completeness, dci_informativeness_{train,test}_accuracy
  sap                    sap
  modularity_explicitness  modularity, explicitness_train, explicitness_test
  unsupervised           gaussian_total_correlation (nats), gaussian_wasserstein_correlation(_norm),
                         mutual_info_score (nats), active_dims
  irs                    irs, irs_nonconstant_dims
  downstream_logistic    downstream_logistic_<n>_{mean,min}_{train,test}_accuracy, n = 10 ... 10,000
  downstream_gbt         downstream_gbt_<n>_... (the same with gradient-boosted trees)
  reduced_downstream     reduced_downstream_gbt_<n>_mean_{train,test}_accuracy_{reduced_factor,other_factors}
  strong_downstream      strong_downstream_gbt_<n>_mean_{,strong_}{train,test}_accuracy, ..._strong_generalization_gap
  fairness               {mean,max}_fairness_{mean,max}_{pred,sens}_{mean,max}_{sens,pred}
  elbo                   the poster's table columns (elbo.py; nats per image and per pixel)

"all" names every metric. UDR compares several runs: tfdisvae.metrics.udr / `evaluate --udr`.
num_points=None runs every metric at its published size (all points for the estimator and elbo,
disentanglement_lib's defaults for the others: slow, see docs/metrics.md); num_points=n scales every
metric down to about n encoded points (quick_sizes).
"""

from __future__ import annotations

import functools

from tfdisvae.metrics import dlib, downstream, sampling
from tfdisvae.metrics.fairness import compute_fairness
from tfdisvae.metrics.mig import poster_scores
from tfdisvae.metrics.mutual_information import DEFAULT_NUM_SAMPLES, compute_mutual_information

POSTER = ("mig", "mmig", "aam")
METRICS = POSTER + ("mig_discrete", "factor_vae_score", "beta_vae_score", "dci", "sap",
                    "modularity_explicitness", "unsupervised", "irs", "downstream_logistic",
                    "downstream_gbt", "reduced_downstream", "strong_downstream", "fairness", "elbo")
FACTOR_FREE = ("elbo",)  # the metrics that need no ground-truth factors
# A key each metric always writes where that is not its own name (a study's test of "evaluated").
WRITTEN_KEYS = {"factor_vae_score": ("factor_vae_eval_accuracy",), "dci": ("dci_disentanglement",),
                "elbo": ("loss", "kl", "log_likelihood", "var_dimwise_kl"),
                "beta_vae_score": ("beta_vae_eval_accuracy",), "modularity_explicitness": ("modularity",),
                "unsupervised": ("gaussian_total_correlation",)}


def written_keys(name) -> tuple:
    """Keys that metric `name` always writes into the results of compute_metrics."""
    return WRITTEN_KEYS.get(name, (name,))


def check_names(names) -> tuple:
    """The metric names as a tuple; a clear error for unknown ones. Accepts "a,b" strings."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = tuple(names)
    if "all" in names:
        names = METRICS
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; valid names: {', '.join(METRICS)} "
                         "(or all)")
    if not names:
        raise ValueError(f"no metric named; choose from {', '.join(METRICS)}")
    return names


def quick_sizes(num_points: int) -> dict:
    """Per-metric sample sizes for about num_points encoded points each."""
    n = max(int(num_points), 64)
    votes = max(n // 16, 50)
    return {
        "mi": {"num_points": n},
        "mig_discrete": {"num_points": n},
        "factor_vae_score": {"num_train": votes, "num_eval": votes // 2, "num_variance_estimate": n},
        "beta_vae_score": {"num_train": votes, "num_eval": votes // 2},
        "dci": {"num_train": n, "num_test": n // 2},
        "sap": {"num_train": n, "num_test": n // 2},
        "modularity_explicitness": {"num_train": n, "num_test": n // 2},
        "unsupervised": {"num_points": n},
        "elbo": {"num_points": n},
        "irs": {"num_train": n},
        "downstream_logistic": {"num_train": tuple(s for s in downstream.NUM_TRAIN if s <= n),
                                "num_test": n // 2},
        "downstream_gbt": {"num_train": tuple(s for s in downstream.NUM_TRAIN if s <= n),
                           "num_test": n // 2},
        "reduced_downstream": {"num_train": (min(1000, n),), "num_test": n // 2},
        "strong_downstream": {"num_train": (min(1000, n),), "num_test": min(1000, n // 2),
                              "n_experiment": 2},
        "fairness": {"num_train": n, "num_test_points_per_class": max(n // 100, 10)},
    }


def compute_metrics(model, data, names, seed=0, num_points=None, num_samples=DEFAULT_NUM_SAMPLES,
                    batch_size=sampling.DEFAULT_BATCH_SIZE, dci_options=None,
                    share_encoding=True) -> dict:
    """The named metrics of `model` on `data` as one flat dict of floats.

    Args:
      model: a DisentanglingVAE (its posterior means are the representation).
      data: GroundTruthData; an ImageData without factors only for "elbo".
      names: metric names (METRICS) or a comma-separated string.
      seed: int seed of every sampled quantity.
      num_points: None: the published sizes; n: about n points per metric (quick_sizes).
      num_samples: Monte-Carlo samples of the poster's estimator.
      batch_size: images per encoder call.
      dci_options: GradientBoostingClassifier overrides for dci (e.g. {"n_estimators": 20}).
      share_encoding: True: encode each data point once for all metrics (a sampling.SharedEncoding;
        the elbo pass, run first, fills it); a SharedEncoding of `data` under `model`: reuse it across
        calls; False: every metric encodes its own images (the same numbers to float round-off,
        slower; kept to test that).
    """
    names = check_names(names)
    if any(n not in FACTOR_FREE for n in names):
        sampling.check_ground_truth(data, "the metrics " + ", ".join(n for n in names
                                                                   if n not in FACTOR_FREE))
    sizes = quick_sizes(num_points) if num_points is not None else {}
    if isinstance(share_encoding, sampling.SharedEncoding):
        if not share_encoding.covers(data):
            raise ValueError("share_encoding is a SharedEncoding of another data set; build one of "
                             "this data (sampling.SharedEncoding(model, data)) or pass True")
        rep = posterior = encoding = share_encoding
    elif share_encoding:
        rep = posterior = encoding = sampling.SharedEncoding(model, data, batch_size)
    else:
        posterior, encoding = sampling.posterior_from_model(model, batch_size), None
        rep = sampling.representation_from_model(model, batch_size)
    calls = {
        "mig_discrete": dlib.compute_mig_discrete,
        "factor_vae_score": dlib.compute_factor_vae_score,
        "beta_vae_score": dlib.compute_beta_vae_score,
        "sap": dlib.compute_sap,
        "modularity_explicitness": dlib.compute_modularity_explicitness,
        "unsupervised": dlib.compute_unsupervised,
        "irs": dlib.compute_irs,
        "downstream_logistic": functools.partial(downstream.compute_downstream_task,
                                                 predictor="logistic"),
        "downstream_gbt": functools.partial(downstream.compute_downstream_task, predictor="gbt"),
        "reduced_downstream": downstream.compute_reduced_downstream_task,
        "strong_downstream": downstream.compute_strong_downstream_task,
        "fairness": compute_fairness,
    }
    out = {}
    if "elbo" in names:  # first: its pass over the data encodes every point the others look up
        from tfdisvae.metrics.elbo import elbo_terms

        out.update(elbo_terms(model, data, seed=seed, encoding=encoding, **sizes.get("elbo", {})))
    if any(n in POSTER for n in names):
        estimate = compute_mutual_information(data, posterior, seed=seed, num_samples=num_samples,
                                              batch_size=batch_size, **sizes.get("mi", {}))
        out.update(poster_scores(estimate))
    for name in names:
        if name in calls:
            out.update(calls[name](data, rep, seed, **sizes.get(name, {})))
        elif name == "dci":
            out.update(dlib.compute_dci(data, rep, seed, **sizes.get("dci", {}),
                                        **(dci_options or {})))
    return {k: float(v) for k, v in out.items()}
