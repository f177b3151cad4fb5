"""train(config) -> run_dir: the job behind train.py.

data -> model -> compile -> fit, with the callbacks of tfdisvae.callbacks. Resuming is exact: the step is
the optimizer's `iterations`, the checkpoint holds the weights, both optimizers and the RNG state, and the
data stream restarts at batch `step` of the same seeded stream, so a killed run started again continues as
if it had not been interrupted (losing at most the steps since its last checkpoint).

    from tfdisvae.config import TrainConfig
    from tfdisvae.training import train
    run_dir = train(TrainConfig.create(model="factor_vae", steps=2000))
"""

import os
import shutil
import sys
import tempfile

import tensorflow as tf

from tfdisvae import callbacks as cb
from tfdisvae import distribute, precision, runs
from tfdisvae.config import ConfigError, TrainConfig
from tfdisvae.data import pipeline
from tfdisvae.data.ground_truth import ArrayData  # noqa: F401 (tfdisvae.training.ArrayData)
from tfdisvae.data.pipeline import DataError  # noqa: F401 (tfdisvae.training.DataError)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""


class WorkerLost(RuntimeError):
    """A worker of a multi-worker run went away mid-step; every worker must be started again."""


# The data of a config (tfdisvae.data.pipeline); kept here under their earlier names.
load_dataset = pipeline.load
load_training_data = pipeline.training_data


def prepare_run(config, image_shape, dataset_size, write=True):
    """Resolve the config for the data, check it against an existing run, write config.json (unless
    `write` is False: the other workers of a multi-worker run only check it).

    Returns (resolved config, run_dir). Raises ConfigError when run_dir holds a different run.
    """
    if config.image_shape is not None and tuple(config.image_shape) != tuple(image_shape):
        raise ConfigError(f"image_shape {tuple(config.image_shape)} was asked for, but the images of "
                          f"{config.dataset} have shape {tuple(image_shape)}; drop --image_shape or "
                          "give that shape")
    resolved = config.resolved(image_shape, dataset_size)
    run_dir = config.default_run_dir()
    resolved.run_dir = run_dir
    path = runs.config_path(run_dir)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise ConfigError(f"run directory {run_dir} is a file, not a directory; give another --run_dir")
    if os.path.isfile(path):
        try:
            previous = TrainConfig.from_json(path)
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path} cannot be read ({type(err).__name__}: {err}); restore it from a "
                              "copy, or give another --run_dir to start a new run") from None
        diffs = previous.differences(resolved)
        if diffs:
            listed = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, a, b in diffs)
            raise ConfigError(f"{run_dir} holds a run with other settings ({listed}); give another "
                              "--run_dir (or --logdir/--seed), or the same settings to resume it")
    if not write:
        return resolved, run_dir
    try:
        os.makedirs(run_dir, exist_ok=True)
        runs.write_text_atomically(path, resolved.to_json())
    except OSError as err:
        full = runs.disk_full_error(err, path)
        if full is not None:
            raise full from None
        raise ConfigError(f"cannot write the run directory {run_dir} ({err.strerror or err}); give a "
                          "--run_dir you can write to") from None
    return resolved, run_dir


def extra_callbacks(config, model, data, writer, ground_truth=None, log=print):
    """Full-data MI / TC / dimension-wise KL estimates every `estimates_every` steps, image summaries
    every `image_every` steps and disentanglement metrics every `metrics_every` steps, through
    training's writer.

    Metrics need factors: they use `ground_truth` (the whole data set) and are skipped, with a
    message, for data sets without factors."""
    extra = []
    if config.estimates_every:
        extra.append(cb.FullDataEstimates(data, writer, every_n_steps=config.estimates_every,
                                          num_points=config.estimates_points, seed=config.seed))
    if config.image_every:
        extra.append(cb.ImageSummaries(data=data, writer=writer, every_n_steps=config.image_every,
                                    seed=config.seed))
    if config.metrics_every:
        if hasattr(ground_truth, "factor_sizes"):
            extra.append(cb.MetricsCallback(ground_truth=ground_truth, writer=writer,
                                         every_n_steps=config.metrics_every, seed=config.seed))
        else:
            log(f"metrics_every={config.metrics_every} ignored: {config.dataset} has no "
                "ground-truth factors")
    return extra


def train(config, data=None, callbacks=(), log=print):
    """Train (or resume) the run of `config`; returns its run directory.

    Args:
      config: a TrainConfig.
      data: optional training data (num_examples, image_shape, as_dataset(...)); default: the config's
        data set (tfdisvae.data.pipeline.training_data).
      callbacks: more Keras callbacks, run after the built-in ones.
      log: where one-line messages go ("resuming from step N", ...).
    Raises:
      ConfigError: invalid settings (one line).
      TrainingDiverged: the loss became NaN/Inf; the last good checkpoint stays intact.
    """
    config.validate()
    # First: MultiWorkerMirroredStrategy must exist before the first TF op of the process.
    strategy = distribute.make_strategy(config.strategy)
    chief = distribute.is_chief(strategy)
    full_data = None
    if data is None:
        full_data = pipeline.load(config)
        data = pipeline.training_data(config, full_data)
    config, run_dir = prepare_run(config, data.image_shape, data.num_examples, write=chief)
    if not chief:
        # Another worker of a multi-worker run: it restores from the chief's checkpoints (storage
        # every worker sees) and writes its own checkpoints and summaries, which every worker must
        # write alike, into a temporary folder it removes at the end.
        scratch = tempfile.mkdtemp(prefix=f"tfdisvae-worker{strategy.cluster_resolver.task_id}-")
        try:
            return _train(config, run_dir, scratch, strategy, data, full_data, callbacks,
                          lambda *_: None)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return _train(config, run_dir, run_dir, strategy, data, full_data, callbacks, log)


def _train(config, run_dir, write_dir, strategy, data, full_data, callbacks, log):
    """The body of train: checkpoints are read from run_dir and written (with summaries) to write_dir."""
    import keras

    from tfdisvae.models import make_model

    keras.utils.set_random_seed(config.seed)
    distribute.per_replica_batch(config.batch_size, strategy)  # batch_size is the global batch
    jit = config.resolve_jit_compile()
    # The policy is fixed when the layers are built; variables, outputs and the loss stay float32.
    with precision.policy_scope(config.mixed_precision) as policy, strategy.scope():
        model = make_model(config)
        model.compile(jit_compile=jit, **runs.optimizers_of(config))
    checkpoints = runs.RunCheckpoints(run_dir, model)
    start = checkpoints.resume(warn=log, move_aside=write_dir == run_dir) or 0
    if start:
        log(f"resuming from step {start} ({checkpoints.resolve()})")
    if write_dir != run_dir:
        checkpoints = runs.RunCheckpoints(write_dir, model)
    if start >= config.steps:
        log(f"{run_dir} has already trained {start} of {config.steps} steps; nothing to do "
            "(give a larger --steps to train on)")
        return run_dir

    # Set before fit builds the train function (restore does not build it).
    model.steps_per_execution = config.resolve_steps_per_execution(start)
    dataset = data.as_dataset(config.batch_size, shuffle=True, seed=config.seed, start_batch=start,
                              repeat=True)
    # Steps after `start` may have been logged by a killed process: TensorBoard drops those events.
    runs.mark_session_start(runs.train_log_dir(write_dir), start + 1)
    summaries = cb.TrainingSummaries(runs.train_log_dir(write_dir), every=config.summary_every)
    guard = cb.NaNGuard()
    all_callbacks = [guard, summaries, cb.Checkpointing(checkpoints, config.checkpoint_every, guard)]
    all_callbacks += extra_callbacks(config, model, data, summaries.writer,
                                     full_data if full_data is not None else data, log=log)
    all_callbacks += list(callbacks)
    if config.verbose:
        all_callbacks.append(cb.ProgressBar(config.steps, start, verbose=config.verbose))
    log(f"run {run_dir}: {config.model} on {config.dataset} ({data.num_examples} images "
        f"{data.image_shape}), batch {config.batch_size}, lr {config.lr:g}, "
        f"XLA {'on' if jit else 'off'}, {policy}, {strategy.num_replicas_in_sync} replica(s), "
        f"{model.steps_per_execution} step(s) per execution")
    try:
        model.fit(dataset, steps_per_epoch=config.steps - start, epochs=1, verbose=0, shuffle=False,
                  callbacks=all_callbacks)
    except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError) as err:
        if config.strategy != "multi_worker":
            raise
        # The engine (MultiWorkerMirroredStrategy) cannot continue with a worker missing: its
        # collectives abort on the survivors. Restarting every worker resumes the run.
        kept = runs.RunCheckpoints(run_dir, model).latest_step
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise WorkerLost(f"a worker of the cluster was lost ({first}); start every worker again with "
                         "the same command (same TF_CONFIG): they resume from the last checkpoint ("
                         f"{'none yet' if kept is None else f'step {kept}'} in "
                         f"{runs.checkpoint_dir(run_dir)})") from None
    if guard.failure is not None:
        kept = checkpoints.latest_step
        raise TrainingDiverged(f"{guard.failure}; last good checkpoint: "
                               f"{'none' if kept is None else f'step {kept}'} in "
                               f"{runs.checkpoint_dir(run_dir)}")
    log(f"done: step {cb.global_step(model)}; checkpoint {checkpoints.manager.latest_checkpoint}")
    sys.stdout.flush()
    return run_dir
