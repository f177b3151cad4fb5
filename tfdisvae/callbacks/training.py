"""The callbacks of every run: TensorBoard scalars, full-data estimates, the NaN guard, checkpoints, the
progress bar.

Under `jit_compile=True` summaries cannot be written inside the step (WriteSummary is not an XLA op), so
the step returns the metrics and these callbacks write them.
"""

import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfdisvae.callbacks import global_step


def _finite(value):
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except (TypeError, ValueError):
        return True


class TrainingSummaries(keras.callbacks.Callback):
    """Write every logged term as a TensorBoard scalar `loss/<term>` every `every` steps.

    Values are the means over the steps since the last summary: after writing, the model's metric
    trackers are reset (so the progress bar, too, shows means over the last `every` steps). A last summary
    is written at the end of training when the final step is not a multiple of `every`.

    Attributes:
      writer: the tf.summary writer of RUN/logs/train, shared with image and metric callbacks.
    """

    def __init__(self, log_dir, every=50, writer=None):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"TrainingSummaries: every must be a positive integer, got {every!r}")
        self.log_dir = log_dir
        self.every = int(every)
        self.writer = writer or tf.summary.create_file_writer(log_dir)
        self._last_written = None
        self._last_logs = None

    def write(self, step, logs):
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                value = np.asarray(value)
                if value.ndim == 0:
                    tf.summary.scalar(f"loss/{name}", float(value))
        self.writer.flush()
        self._last_written = step

    def on_train_batch_end(self, batch, logs=None):
        if not logs:
            return
        step = global_step(self.model)
        self._last_logs = dict(logs)
        if step % self.every == 0:
            self.write(step, logs)
            self.model.reset_metrics()
            self._last_logs = None

    def on_train_end(self, logs=None):
        step = global_step(self.model)
        if self._last_logs and self._last_written != step:
            self.write(step, self._last_logs)
        self.writer.flush()


class FullDataEstimates(keras.callbacks.Callback):
    """Index-code MI, total correlation and dimension-wise KL of the aggregate posterior, every N steps.

    The training step logs its minibatch estimates (`*_minibatch`), which can be negative or exceed the
    KL. These are the estimates of the results table (metrics.elbo.full_data_decomposition): q(z) is the
    mixture of the posteriors of `num_points` fixed images, so each term estimates a divergence of that
    mixture (≥ 0 up to Monte-Carlo noise) and the three sum to the KL of those images. Written as
    TensorBoard scalars estimates/<index_code_mi | total_correlation | dimwise_kl | kl> (nats per image)
    through training's writer; `history` holds (step, values). They are written at the first step that
    reaches each multiple of `every_n_steps` (the end of that execution), so this period does not
    constrain steps_per_execution. Cost: one encoder pass over the subset and num_points² · latent_dim
    log-densities (about 0.5 s for 2,048 images and 10 latents on 2 cores).
    """

    def __init__(self, data, writer, every_n_steps=1000, num_points=2048, seed=0):
        super().__init__()
        if int(every_n_steps) < 1:
            raise ValueError(f"FullDataEstimates: every_n_steps must be a positive integer, got "
                             f"{every_n_steps!r}")
        count = min(int(num_points), int(data.num_examples))
        if count < 2:
            raise ValueError(f"FullDataEstimates needs at least 2 images, got {count}")
        rng = np.random.default_rng(seed)
        self.indices = np.sort(rng.choice(int(data.num_examples), size=count, replace=False))
        self.data = data
        self.writer = writer
        self.every_n_steps = int(every_n_steps)
        self.seed = int(seed)
        self.history = []
        self._posterior = None
        self._next_step = self.every_n_steps

    def on_train_begin(self, logs=None):
        self._next_step = (global_step(self.model) // self.every_n_steps + 1) * self.every_n_steps

    def estimate(self) -> dict:
        """The estimates for the model's current weights (nats per image)."""
        from tfdisvae.data.ground_truth import float_images
        from tfdisvae.metrics import sampling
        from tfdisvae.metrics.elbo import full_data_decomposition
        from tfdisvae.viz.grids import mean_kl_per_latent

        if self._posterior is None:
            self._posterior = sampling.posterior_from_model(self.model)
        mean, log_var = self._posterior(float_images(self.data, self.indices))
        values = full_data_decomposition(mean, log_var, num_samples=len(mean), seed=self.seed)
        values.pop("dimwise_kl_per_latent")
        # Analytic KL[q(z|x) || N(0, I)] of the same images: the three terms sum to its Monte-Carlo estimate.
        values["kl"] = float(mean_kl_per_latent(mean, log_var).sum())
        return values

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step < self._next_step:
            return
        self._next_step = (step // self.every_n_steps + 1) * self.every_n_steps
        values = self.estimate()
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"estimates/{name}", value)
        self.writer.flush()
        self.history.append((step, values))


class NaNGuard(keras.callbacks.Callback):
    """Stop training at the first step whose loss (or any logged term) is NaN or infinite.

    After fit returns, `failure` holds a one-line message (None if training was healthy); training.train
    raises it as TrainingDiverged. Put it before Checkpointing so no bad state is saved.
    """

    def __init__(self):
        super().__init__()
        self.failure = None
        self.failed_step = None

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        bad = sorted(name for name, value in logs.items() if not _finite(value))
        if bad:
            step = global_step(self.model)
            self.failed_step = step
            self.failure = (f"training stopped at step {step}: non-finite {', '.join(bad)} "
                            f"(loss = {float(np.asarray(logs.get('loss', np.nan))):g}); "
                            "lower --lr, or check the data are images in [0, 1]")
            self.model.stop_training = True


class Checkpointing(keras.callbacks.Callback):
    """Save a checkpoint every `every` steps and at the end, never a non-finite state.

    Args:
      checkpoints: a tfdisvae.runs.RunCheckpoints of the model being trained.
      every: steps between checkpoints.
      guard: an optional NaNGuard; once it has fired nothing more is saved.
    """

    def __init__(self, checkpoints, every, guard=None):
        super().__init__()
        self.checkpoints = checkpoints
        self.every = int(every)
        self.guard = guard
        self.saved_steps = []

    def _healthy(self, logs):
        if self.guard is not None and self.guard.failure is not None:
            return False
        if logs and not all(_finite(v) for v in logs.values()):
            return False
        return all(bool(tf.reduce_all(tf.math.is_finite(v)))
                   for v in self.model.trainable_variables)

    def _save(self, logs):
        step = global_step(self.model)
        if step in self.saved_steps or step == self.checkpoints.latest_step:
            return
        if not self._healthy(logs):
            return
        self.checkpoints.save(step)
        self.saved_steps.append(step)

    def on_train_batch_end(self, batch, logs=None):
        if global_step(self.model) % self.every == 0:
            self._save(logs)

    def on_train_end(self, logs=None):
        self._save(logs)


class ProgressBar(keras.callbacks.Callback):
    """A one-line progress bar with ETA over the steps of this call (Keras's Progbar), showing a few terms.

    Args:
      total_steps: the step training ends at.
      initial_step: the step it starts from (non-zero when resuming).
      keys: the logged terms to show (default: loss, reconstruction, kl and, when logged,
        capacity, discriminator_loss, discriminator_accuracy; never the minibatch decomposition
        estimates, which FullDataEstimates replaces in TensorBoard).
      verbose: 1 a bar updated in place; 2 one line every `every` steps (default 5 % of them), for
        log files: Keras's own verbose=2 prints one line per epoch, and a run is one epoch.
    """

    DEFAULT_KEYS = ("loss", "reconstruction", "kl", "capacity",
                    "discriminator_loss", "discriminator_accuracy")

    def __init__(self, total_steps, initial_step=0, keys=None, verbose=1, every=None):
        super().__init__()
        self.total_steps = int(total_steps)
        self.initial_step = int(initial_step)
        self.keys = tuple(keys or self.DEFAULT_KEYS)
        self.verbose = int(verbose)
        self.every = every
        self._bar = None
        self._printed = 0

    def on_train_begin(self, logs=None):
        remaining = self.total_steps - self.initial_step
        print(f"training steps {self.initial_step} -> {self.total_steps}", file=sys.stdout, flush=True)
        self._start = time.time()
        self._printed = 0
        if self.verbose == 1:
            self._bar = keras.utils.Progbar(remaining, stateful_metrics=self.keys, unit_name="step")

    def _values(self, logs):
        return [(k, float(np.asarray(logs[k]))) for k in self.keys if k in logs
                and not (k == "capacity" and float(np.asarray(logs[k])) == 0.0)]

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        done = global_step(self.model) - self.initial_step
        if self._bar is not None:
            self._bar.update(done, values=self._values(logs))
        elif self.verbose == 2:
            # With steps_per_execution > 1 this runs every few steps: print on crossing a multiple.
            every = self.every or max(1, (self.total_steps - self.initial_step) // 20)
            if done // every > self._printed or done == self.total_steps - self.initial_step:
                self._printed = done // every
                elapsed = time.time() - self._start
                eta = elapsed / max(done, 1) * (self.total_steps - self.initial_step - done)
                terms = " ".join(f"{k}={v:.4g}" for k, v in self._values(logs))
                print(f"step {self.initial_step + done}/{self.total_steps} "
                      f"eta {_format_seconds(eta)} {terms}", flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            sys.stdout.flush()


def _format_seconds(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
