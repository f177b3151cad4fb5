"""Objectives: the KL decomposition (MI, TC, dimension-wise KL) and the method table built on it."""

from tfdisvae.objectives.decomposition import (
    ESTIMATORS,
    decompose_kl,
    kl_per_latent,
    log_normal_density,
    log_qz_estimates,
    pairwise_log_density,
)
from tfdisvae.objectives.dip import dip_regulariser
from tfdisvae.objectives.factor import (
    density_ratio_tc,
    discriminator_accuracy,
    discriminator_loss,
    permute_dims,
)
from tfdisvae.objectives.methods import (
    ANNEAL_TERMS,
    DIP,
    METHODS,
    TC_ESTIMATORS,
    Capacity,
    Objective,
    anneal_weights,
    capacity_at,
    compute_loss,
    make_objective,
    regularisation_weight,
)

__all__ = [
    "ANNEAL_TERMS", "DIP", "ESTIMATORS", "METHODS", "TC_ESTIMATORS", "Capacity", "Objective",
    "anneal_weights", "capacity_at",
    "compute_loss", "decompose_kl", "density_ratio_tc", "dip_regulariser", "discriminator_accuracy",
    "discriminator_loss", "kl_per_latent", "log_normal_density", "log_qz_estimates", "make_objective",
    "pairwise_log_density", "permute_dims", "regularisation_weight",
]
