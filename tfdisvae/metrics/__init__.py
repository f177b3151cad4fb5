"""Disentanglement metrics: the poster's estimator, disentanglement_lib's suite, the table columns.

    from tfdisvae import metrics
    est = metrics.estimate_mutual_information(means, log_vars, factors, factor_sizes)  # I [K, D], nats
    metrics.mig(est.mi, est.factor_entropy), metrics.aam(est.mi), metrics.mmig(...)
    metrics.compute_dci(data, metrics.representation_from_model(model), seed=0)
    metrics.compute_udr(data, [metrics.posterior_from_model(m) for m in models], seed=0)
    metrics.compute_metrics(model, data, ["mig", "aam", "dci"], seed=0, num_points=2048)
    metrics.MetricsCallback(data, metrics=("mig", "aam"), every_n_steps=1000, writer=writer)

Pure functions take numpy arrays (codes [n, D], int factor classes [n, K]); the `compute_*` entry points
take a GroundTruthData, a representation function and a seed. See docs/metrics.md.
The Keras callback is imported lazily (this package imports no Keras model code).
"""

import importlib

from tfdisvae.metrics.dlib import (
    active_dimensions,
    beta_vae_features,
    beta_vae_score,
    compute_beta_vae_score,
    compute_dci,
    compute_factor_vae_score,
    compute_irs,
    compute_mig_discrete,
    compute_modularity_explicitness,
    compute_sap,
    compute_unsupervised,
    dci,
    dci_from_importance,
    discrete_mi_matrix,
    factor_vae_score,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    histogram_discretize,
    irs,
    mig_discrete,
    modularity,
    modularity_explicitness,
    mutual_info_score,
    sap,
    unsupervised,
)
from tfdisvae.metrics.downstream import (
    compute_downstream_task,
    compute_reduced_downstream_task,
    compute_strong_downstream_task,
    downstream_task,
    reduced_downstream_task,
    strong_downstream_task,
)
from tfdisvae.metrics.fairness import compute_fairness, fairness
from tfdisvae.metrics.mig import (
    aam,
    aam_per_factor,
    discrete_entropy,
    discrete_mutual_information,
    factor_entropies,
    factor_mutual_information,
    mig,
    mig_per_factor,
    mmig,
    poster_scores,
)
from tfdisvae.metrics.mutual_information import (
    MutualInformationEstimate,
    compute_mutual_information,
    estimate_mutual_information,
    mutual_information,
)
from tfdisvae.metrics.sampling import (
    posterior_from_model,
    representation_from_model,
)
from tfdisvae.metrics.suite import METRICS, compute_metrics
from tfdisvae.metrics.udr import compute_udr, udr

_LAZY = {"MetricsCallback": "tfdisvae.callbacks.metrics", "elbo_terms": "tfdisvae.metrics.elbo",
         "full_data_decomposition": "tfdisvae.metrics.elbo"}

__all__ = [
    "METRICS", "MetricsCallback", "MutualInformationEstimate", "aam", "aam_per_factor",
    "active_dimensions", "beta_vae_features", "beta_vae_score", "compute_beta_vae_score",
    "compute_dci", "compute_factor_vae_score", "compute_metrics", "compute_mig_discrete",
    "compute_modularity_explicitness", "compute_mutual_information", "compute_sap",
    "compute_unsupervised", "dci", "compute_irs", "irs", "gaussian_wasserstein_correlation",
    "mutual_info_score", "compute_downstream_task", "compute_reduced_downstream_task",
    "compute_strong_downstream_task", "downstream_task", "reduced_downstream_task",
    "strong_downstream_task", "compute_fairness", "fairness", "compute_udr", "udr", "dci_from_importance", "discrete_entropy", "discrete_mi_matrix",
    "discrete_mutual_information", "elbo_terms", "estimate_mutual_information", "factor_entropies",
    "factor_mutual_information", "factor_vae_score", "full_data_decomposition",
    "gaussian_total_correlation",
    "histogram_discretize", "mig", "mig_discrete", "mig_per_factor", "mmig", "modularity",
    "modularity_explicitness", "mutual_information", "posterior_from_model", "poster_scores",
    "representation_from_model", "sap", "unsupervised",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
