"""Keras callbacks of a training run; every one counts steps with `global_step`.

    training.py  TrainingSummaries, FullDataEstimates, NaNGuard, Checkpointing, ProgressBar
    metrics.py   MetricsCallback: disentanglement metrics every N steps (metrics/<name>)
    images.py    ImageSummaries: reconstructions and traversals (images/<kind>)

Every summary goes through TrainingSummaries.writer into RUN/logs/train. The callbacks are imported on
first use of their names (`tfdisvae.callbacks.NaNGuard`), so this package imports no Keras.
"""

import importlib

import numpy as np

_HOMES = {"TrainingSummaries": "training", "FullDataEstimates": "training", "NaNGuard": "training",
          "Checkpointing": "training", "ProgressBar": "training", "MetricsCallback": "metrics",
          "ImageSummaries": "images"}

__all__ = ["global_step", *_HOMES]


def global_step(model, default=0):
    """The global step, model.optimizer.iterations (VAE updates so far, so a resumed run counts on
    from where it stopped), as an int; `default` for a model without an optimizer (not compiled)."""
    optimizer = getattr(model, "optimizer", None)
    return default if optimizer is None else int(np.asarray(optimizer.iterations))


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(f"tfdisvae.callbacks.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
