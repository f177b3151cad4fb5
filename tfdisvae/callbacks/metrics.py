"""MetricsCallback: a chosen subset of the disentanglement metrics every N training steps, as TensorBoard
scalars `metrics/<name>` (through training's writer when given, so every summary of a run lands in
RUN/logs/train)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfdisvae.callbacks import global_step
from tfdisvae.metrics import sampling
from tfdisvae.metrics.suite import check_names, compute_metrics

DEFAULT_METRICS = ("mig", "mmig", "aam", "mig_discrete")
DEFAULT_NUM_POINTS = 1024   # a few seconds on 2 CPU cores for DEFAULT_METRICS (docs/metrics.md)
DEFAULT_NUM_SAMPLES = 1000  # Monte-Carlo samples of the poster's estimator here


class MetricsCallback(keras.callbacks.Callback):
    """Compute `metrics` every `every_n_steps` VAE updates and write `metrics/<name>` scalars.

    Args:
      ground_truth: GroundTruthData the metrics sample from (`data=` is accepted as an alias).
      metrics: names from tfdisvae.metrics.METRICS (default: mig, mmig, aam, mig_discrete).
      every_n_steps: period in global steps (model.optimizer.iterations); `every=` is an alias.
      writer: a tf.summary writer (training's); else one is made on `log_dir`.
      log_dir: folder of the writer when none is given.
      num_points: points per metric (quick_sizes); small by default to keep the cost to seconds.
      num_samples: Monte-Carlo samples of the poster's estimator.
      seed: int; the same points are used at every evaluation, so curves compare like with like.
    Attributes:
      history: list of (step, {name: value}) of every evaluation.
    """

    def __init__(self, ground_truth=None, metrics=DEFAULT_METRICS, every_n_steps=1000, writer=None,
                 log_dir=None, num_points=DEFAULT_NUM_POINTS, num_samples=DEFAULT_NUM_SAMPLES, seed=0,
                 *, data=None, every=None):
        super().__init__()
        if ground_truth is None:
            ground_truth = data
        if ground_truth is None:
            raise ValueError("MetricsCallback needs the ground-truth data set (ground_truth=...)")
        self.metric_names = check_names(metrics)
        sampling.check_ground_truth(ground_truth, "MetricsCallback (metrics "
                                    f"{', '.join(self.metric_names)})")
        every_n_steps = every if every is not None else every_n_steps
        if int(every_n_steps) < 1:
            raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        if writer is None and log_dir is None:
            raise ValueError("MetricsCallback needs writer= (training's) or log_dir= for its scalars")
        self.ground_truth = ground_truth
        self.every_n_steps = int(every_n_steps)
        self.writer = writer if writer is not None else tf.summary.create_file_writer(log_dir)
        self.num_points = num_points
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.history = []
        self._last_step = None

    def evaluate(self, step=None) -> dict:
        """Compute the metrics now and write them at `step` (default: the model's global step)."""
        step = global_step(self.model) if step is None else int(step)
        values = compute_metrics(self.model, self.ground_truth, self.metric_names, seed=self.seed,
                                 num_points=self.num_points, num_samples=self.num_samples)
        with self.writer.as_default(step=step):
            for name, value in values.items():
                if np.isfinite(value):
                    tf.summary.scalar(f"metrics/{name}", value)
        self.writer.flush()
        self.history.append((step, values))
        self._last_step = step
        return values

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every_n_steps == 0 and step != self._last_step:
            self.evaluate(step)
