"""The run directory and its checkpoints.

    RUN/
      config.json      resolved TrainConfig
      checkpoints/     tf.train.CheckpointManager: ckpt-<step>.* (model weights, both optimizers, the
                       step, the RNG state of the model's SeedGenerator)
      logs/train/      TensorBoard events of training;  logs/eval/  of evaluate
      metrics.json     written by python -m tfdisvae.evaluate;  figures/  by python -m tfdisvae.viz

    model, config = load_run("runs/beta_vae_h-dsprites-seed0")               # latest checkpoint
    model, config = load_run("runs/beta_vae_h-dsprites-seed0", checkpoint=500)
"""

import errno
import os
import re
import shutil

import tensorflow as tf

from tfdisvae.config import TrainConfig

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
TRAIN_LOG_DIR = os.path.join("logs", "train")
EVAL_LOG_DIR = os.path.join("logs", "eval")
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"


def config_path(run_dir):
    return os.path.join(run_dir, CONFIG_FILE)


def checkpoint_dir(run_dir):
    return os.path.join(run_dir, CHECKPOINT_DIR)


def train_log_dir(run_dir):
    return os.path.join(run_dir, TRAIN_LOG_DIR)


def eval_log_dir(run_dir):
    return os.path.join(run_dir, EVAL_LOG_DIR)


def metrics_path(run_dir):
    return os.path.join(run_dir, METRICS_FILE)


def figures_dir(run_dir):
    return os.path.join(run_dir, FIGURES_DIR)


def make_checkpoint(model):
    """tf.train.Checkpoint over everything a resumed run needs: the model's weights, its optimizer (whose
    `iterations` is the global step), the discriminator's optimizer (factor_vae) and the RNG state.

    The model must be compiled (both optimizers built), so a restore fills every slot at once.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("make_checkpoint: compile the model first (the checkpoint holds its optimizers).")
    objects = {"model": model, "optimizer": model.optimizer,
               # Keras does not track SeedGenerator states in the checkpoint graph: add it by name.
               "seed_state": model.seed_generator.state}
    if getattr(model, "discriminator_optimizer", None) is not None:
        objects["discriminator_optimizer"] = model.discriminator_optimizer
    return tf.train.Checkpoint(**objects)


class DiskFullError(RuntimeError):
    """A write failed for want of space (ENOSPC, a quota, a file-size limit); what was written before stays."""


_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DISK_FULL_TEXT = ("No space left on device", "File too large", "Disk quota exceeded")


def disk_full_error(err, what):
    """A DiskFullError naming `what` was being written when `err` (an OSError or a TF error) is one of
    running out of space; None otherwise."""
    if isinstance(err, DiskFullError):
        return err
    full = (isinstance(err, OSError) and err.errno in _DISK_FULL_ERRNOS) or (
        isinstance(err, tf.errors.OpError) and any(t in str(err) for t in _DISK_FULL_TEXT))
    if not full:
        return None
    reason = next((t for t in _DISK_FULL_TEXT if t in str(err)), None) or os.strerror(err.errno)
    return DiskFullError(f"out of disk space writing {what} ({reason}); free space there (or raise the "
                         "file-size limit / quota), then run the same command again: it resumes from "
                         "the last checkpoint, and nothing written before was lost")


def write_text_atomically(path, text):
    """Write `path` through a temporary file and a rename: a failed write leaves the old file whole."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class CheckpointError(RuntimeError):
    """No checkpoint of a run restores (each is truncated, incomplete or of other shapes)."""


CORRUPT_SUFFIX = ".corrupt"


class RunCheckpoints:
    """The checkpoints of one run: save at a step, restore the latest or a named one.

    Checkpoint files are RUN/checkpoints/ckpt-<step>.*; `max_to_keep` most recent are kept. `resume`
    falls back past damaged checkpoints: each newer one that does not restore is moved aside (all its
    files) into RUN/checkpoints/ckpt-<step>.corrupt/ and dropped from the `checkpoint` state file, so
    nothing is deleted and the manager's listing stays consistent with the files.
    """

    def __init__(self, run_dir, model, max_to_keep=3):
        self.run_dir = run_dir
        self.model = model
        self.checkpoint = make_checkpoint(model)
        self.max_to_keep = max_to_keep
        self.manager = self._make_manager()

    def _make_manager(self):
        folder = checkpoint_dir(self.run_dir)
        try:
            return tf.train.CheckpointManager(self.checkpoint, folder, max_to_keep=self.max_to_keep,
                                              checkpoint_name="ckpt")
        except ValueError:  # an empty or truncated `checkpoint` state file: keep it, rebuild from disk
            state = os.path.join(folder, "checkpoint")
            if os.path.exists(state):  # (another worker of the run may have moved it already)
                os.replace(state, state + CORRUPT_SUFFIX)
            return tf.train.CheckpointManager(self.checkpoint, folder, max_to_keep=self.max_to_keep,
                                              checkpoint_name="ckpt")

    @property
    def steps(self):
        """Steps of the checkpoints on disk, oldest first."""
        return [_step_of(path) for path in self.manager.checkpoints]

    @property
    def latest_step(self):
        """Step of the newest checkpoint, or None when there is none."""
        path = self.manager.latest_checkpoint
        return None if path is None else _step_of(path)

    def resume(self, warn=print, move_aside=True):
        """Restore the newest checkpoint that restores; returns its step, or None when there is none.

        A newer checkpoint that fails (truncated data file, missing index, variables of other shapes) is
        moved aside as ckpt-<step>.corrupt with one `warn` line naming it (only skipped with
        move_aside=False: the other workers of a multi-worker run never change the chief's folder).
        Raises CheckpointError naming the folder when checkpoints exist but none restores (then nothing
        is moved).
        """
        candidates = self._candidates()
        if not candidates:
            return None
        failures = []
        for path in reversed(candidates):
            try:
                _read_every_tensor(path)
                status = self.checkpoint.restore(path)
                status.assert_existing_objects_matched()
            except Exception as err:  # noqa: BLE001 - any failure means "does not restore"
                failures.append((path, _one_line(err)))
                continue
            if not move_aside:
                return _step_of(path)
            self._remove_unfinished_saves()
            for bad, why in failures:
                aside = self._move_aside(bad)
                warn(f"warning: checkpoint {os.path.basename(bad)} does not restore ({why}); moved "
                     f"aside to {aside}, resuming from {os.path.basename(path)}")
            self._rewrite_state([p for p in candidates if _step_of(p) <= _step_of(path)])
            return _step_of(path)
        listed = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in failures)
        raise CheckpointError(
            f"no checkpoint in {checkpoint_dir(self.run_dir)} restores ({listed}); move that folder "
            "aside to train from step 0, or give another --run_dir")

    def _remove_unfinished_saves(self):
        """Delete the ckpt-<step>_temp/ folders of saves killed before they finished (TensorFlow's
        scratch space for a save: never a checkpoint, and renamed away when a save completes)."""
        folder = checkpoint_dir(self.run_dir)
        for name in os.listdir(folder):
            if re.fullmatch(r"ckpt-\d+_temp", name) and os.path.isdir(os.path.join(folder, name)):
                shutil.rmtree(os.path.join(folder, name), ignore_errors=True)

    def _candidates(self):
        """Checkpoint prefixes oldest first: those of the state file plus any ckpt-N.index on disk."""
        folder = checkpoint_dir(self.run_dir)
        paths = {_step_of(p): p for p in self.manager.checkpoints}
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                match = re.fullmatch(r"ckpt-(\d+)\.index", name)
                if match:
                    paths.setdefault(int(match.group(1)), os.path.join(folder, f"ckpt-{match.group(1)}"))
        return [paths[step] for step in sorted(paths)]

    def _move_aside(self, path):
        """Move every file of checkpoint `path` into the folder <path>.corrupt (.1, .2... if taken)."""
        aside, n = path + CORRUPT_SUFFIX, 0
        while os.path.exists(aside):
            n += 1
            aside = f"{path}{CORRUPT_SUFFIX}.{n}"
        os.makedirs(aside)
        folder, stem = os.path.split(path)
        for name in os.listdir(folder):
            if name == stem + ".index" or name.startswith(stem + ".data-"):
                os.replace(os.path.join(folder, name), os.path.join(aside, name))
        return aside

    def _rewrite_state(self, paths):
        """Point the `checkpoint` state file at `paths` (oldest first), keeping each one's timestamp (the
        manager's rotation of old checkpoints uses them), and reload the manager."""
        if [os.path.basename(p) for p in paths] == [os.path.basename(p) for p in self.manager.checkpoints]:
            return
        from google.protobuf import text_format
        from tensorflow.python.training.checkpoint_state_pb2 import CheckpointState

        folder = checkpoint_dir(self.run_dir)
        old = tf.train.get_checkpoint_state(folder) if os.path.exists(
            os.path.join(folder, "checkpoint")) else None
        stamps = {}
        if old is not None:
            stamps = dict(zip((os.path.basename(p) for p in old.all_model_checkpoint_paths),
                              old.all_model_checkpoint_timestamps, strict=False))
        names = [os.path.basename(p) for p in paths]
        times = [stamps.get(n) or os.path.getmtime(os.path.join(folder, n + ".index")) for n in names]
        state = CheckpointState(model_checkpoint_path=names[-1], all_model_checkpoint_paths=names,
                                all_model_checkpoint_timestamps=times,
                                last_preserved_timestamp=min(times) - 1.0)
        tmp = os.path.join(folder, "checkpoint.tmp")
        with open(tmp, "w") as handle:
            handle.write(text_format.MessageToString(state))
        os.replace(tmp, os.path.join(folder, "checkpoint"))
        self.manager = self._make_manager()

    def save(self, step):
        """Write ckpt-<step>; returns its path prefix.

        Raises DiskFullError when the disk (or a size limit) is full; the half-written ckpt-<step>_temp
        is removed and the earlier checkpoints are untouched (the manager rotates only after a save)."""
        try:
            return self.manager.save(checkpoint_number=int(step))
        except (OSError, tf.errors.OpError) as err:
            full = disk_full_error(err, f"checkpoint ckpt-{int(step)} in {checkpoint_dir(self.run_dir)}")
            if full is None:
                raise
            shutil.rmtree(os.path.join(checkpoint_dir(self.run_dir), f"ckpt-{int(step)}_temp"),
                          ignore_errors=True)
            raise full from None

    def restore(self, checkpoint=None):
        """Restore the latest checkpoint (None), the one of a step (int) or a path prefix (str).

        Returns the restored step. Raises FileNotFoundError naming what exists when there is no match.
        """
        path = self.resolve(checkpoint)
        status = self.checkpoint.restore(path)
        status.assert_existing_objects_matched()
        del status
        return _step_of(path)

    def resolve(self, checkpoint=None):
        """The path prefix of the checkpoint `restore` would read."""
        available = self.manager.checkpoints
        listing = ", ".join(str(_step_of(p)) for p in available) or "none"
        if checkpoint is None:
            if not available:
                raise FileNotFoundError(
                    f"no checkpoint in {checkpoint_dir(self.run_dir)}; train the run first "
                    "(train.py writes one every --checkpoint_every steps and at the end).")
            return self.manager.latest_checkpoint
        if isinstance(checkpoint, int) or (isinstance(checkpoint, str) and checkpoint.isdigit()):
            for path in available:
                if _step_of(path) == int(checkpoint):
                    return path
            raise FileNotFoundError(f"no checkpoint of step {checkpoint} in "
                                    f"{checkpoint_dir(self.run_dir)}; steps available: {listing}.")
        if tf.io.gfile.exists(str(checkpoint) + ".index"):
            return str(checkpoint)
        raise FileNotFoundError(f"checkpoint {checkpoint!r} not found (no {checkpoint}.index); "
                                f"steps available in {checkpoint_dir(self.run_dir)}: {listing}.")


def mark_session_start(log_dir, step):
    """Tell TensorBoard that training (re)starts at `step`: events of steps >= `step` written before are
    stale.

    A resumed run trains the steps after its checkpoint again, and its writer logs them again; the events
    the killed process wrote past the checkpoint are still in its file (nothing is deleted). Every run
    therefore begins with a small events file holding `SessionLog.START` at `step`, named so that it sorts
    after every earlier events file of log_dir and before the new writer's. TensorBoard's server (its
    plugin_event_accumulator, purge_orphaned_data on by default) takes the first START of a directory as
    the beginning and each later one as a restart, dropping every earlier event of a step >= `step`: each
    step appears once, with the value of the run that got past it. Readers without that purge
    (tensorboard's legacy event_accumulator for tensor summaries) take the last value of each step in
    file order, which is the same. Returns the marker's path.
    """
    import socket
    import time

    os.makedirs(log_dir, exist_ok=True)
    path = os.path.join(log_dir, f"events.out.tfevents.{int(time.time()):010d}."
                                 f"{socket.gethostname()}.{os.getpid()}.0.restart")
    start = tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START)
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(tf.compat.v1.Event(wall_time=time.time(), file_version="brain.Event:2")
                     .SerializeToString())
        writer.write(tf.compat.v1.Event(wall_time=time.time(), step=int(step), session_log=start)
                     .SerializeToString())
    return path


def _read_every_tensor(path):
    """Read each tensor of a checkpoint once: a truncated data file or a missing index raises here,
    before anything is assigned to the model."""
    reader = tf.train.load_checkpoint(path)
    for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)


def _one_line(err):
    text = " ".join(str(err).split()) or "no message"
    return f"{type(err).__name__}: {text[:200]}"


def _step_of(path):
    match = re.search(r"ckpt-(\d+)$", path)
    if not match:
        raise ValueError(f"not a checkpoint path of a run: {path!r} (expected .../ckpt-<step>)")
    return int(match.group(1))


def read_config(run_dir):
    """The TrainConfig of a run (RUN/config.json). Clear errors for a missing directory or file."""
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise NotADirectoryError(f"run directory {run_dir!r} is a file, not a directory; give the "
                                 "directory train.py wrote (or another --run_dir)")
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(
            f"run directory {run_dir!r} does not exist; give the directory train.py wrote "
            f"(it holds {CONFIG_FILE} and {CHECKPOINT_DIR}/).")
    path = config_path(run_dir)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing: {run_dir!r} is not a training run directory (train.py writes "
            f"{CONFIG_FILE} there before the first step).")
    return TrainConfig.from_json(path)


def load_run(run_dir, checkpoint=None):
    """Rebuild a run's model from its config.json and restore a checkpoint.

    Args:
      run_dir: the run directory.
      checkpoint: None (the latest), a step (int) or a checkpoint path prefix.
    Returns:
      (model, config): a compiled DisentanglingVAE with weights, both optimizers and RNG state
      restored, and the run's TrainConfig.
    """
    from tfdisvae.models import make_model

    config = read_config(run_dir)
    model = make_model(config)
    model.compile(**optimizers_of(config))
    RunCheckpoints(run_dir, model).restore(checkpoint)
    return model, config


def optimizers_of(config):
    """compile() keyword arguments of a resolved config: the VAE's Adam and the discriminator's."""
    from tfdisvae.objectives.methods import DEFAULT_LR
    from tfdisvae.optimizers import Adam

    lr = config.lr if config.lr is not None else DEFAULT_LR[config.model]
    kwargs = {"optimizer": Adam(lr, beta_1=config.adam_beta1, beta_2=config.adam_beta2)}
    if config.model == "factor_vae":
        kwargs["discriminator_optimizer"] = Adam(
            config.discriminator_lr, beta_1=config.discriminator_beta1,
            beta_2=config.discriminator_beta2)
    return kwargs


def latest_checkpoint_step(run_dir):
    """Step of the run's newest checkpoint (from RUN/checkpoints/checkpoint; no model built), or None."""
    path = tf.train.latest_checkpoint(checkpoint_dir(run_dir))
    return None if path is None else _step_of(path)
