"""tfdisvae: disentangling VAEs in TensorFlow/Keras — train, evaluate, visualise and serve.

The public API is imported lazily, so `import tfdisvae.data` does not pay for building Keras models.

    import tfdisvae
    data = tfdisvae.data.load_ground_truth("dsprites")
    model = tfdisvae.FactorVAE(latent_dim=10)
    model.compile()
    model.fit(data.as_dataset(batch_size=128, seed=0), steps_per_epoch=1000)
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    # models
    "DisentanglingVAE": "tfdisvae.models",
    "VAE": "tfdisvae.models",
    "BetaVAEH": "tfdisvae.models",
    "BetaVAEB": "tfdisvae.models",
    "FactorVAE": "tfdisvae.factor_vae",
    "BetaTCVAE": "tfdisvae.models",
    "DIPVAEI": "tfdisvae.models",
    "DIPVAEII": "tfdisvae.models",
    "make_model": "tfdisvae.models",
    # runs and configuration
    "TrainConfig": "tfdisvae.config",
    "load_run": "tfdisvae.runs",
    "train": "tfdisvae.training",
    "TrainingDiverged": "tfdisvae.training",
}
_SUBMODULES = ("callbacks", "config", "data", "distribute", "distributions", "evaluate", "export",
               "factor_vae", "metrics", "networks", "objectives", "precision", "pretrained", "runs",
               "training", "viz")

__all__ = sorted(_LAZY) + list(_SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tfdisvae.{name}")
    raise AttributeError(f"module 'tfdisvae' has no attribute {name!r}")


def __dir__():
    return __all__
