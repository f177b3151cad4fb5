"""tf.distribute strategies for training past one device: `--strategy {default,mirrored,multi_worker}`.

    from tfdisvae import distribute
    strategy = distribute.make_strategy("mirrored")     # every local GPU (or the given devices)
    with strategy.scope():
        model = tfdisvae.make_model("beta_tcvae", dataset_size=737_280)
        model.compile()
    model.fit(data.as_dataset(batch_size=64 * strategy.num_replicas_in_sync), steps_per_epoch=...)

- "default": no distribution (tf.distribute's default strategy: one device, the GPU if there is one).
- "mirrored": MirroredStrategy, synchronous data parallelism over the devices of one machine. Each step
  splits the global batch into one shard per replica and sums the gradients across replicas.
- "multi_worker": MultiWorkerMirroredStrategy, the same over several machines. Each worker runs the same
  command with its own TF_CONFIG (cluster addresses and its task index); see docs/benchmarks.md.

The batch size a run is given is the GLOBAL batch. Batch statistics (beta_tcvae's MWS/MSS estimates of
log q(z), FactorVAE's dimension-wise permutation, DIP-VAE's covariances, the monitored MI/TC) must see
the global batch to train as on one device: DisentanglingVAE gathers the codes across replicas inside
its step with `global_batch` and `local_rows` below (tests/distribute/test_distribute.py checks that losses
over 2 replicas equal one device's).

Create one strategy per process and reuse it: a second MirroredStrategy over the same devices in one
process reuses collective instance keys and its first step fails with "Shape mismatch in the collective
instance" (seen with TF 2.21).
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def configure_logical_cpus(count: int) -> list:
    """Split the first physical CPU into `count` logical devices (for tests and CPU-only trials).

    Must run before TensorFlow initialises its devices (before the first op). Returns the logical CPU
    devices. Raises RuntimeError, naming the fix, when TF is already initialised with another split.
    """
    if int(count) < 1:
        raise ValueError(f"configure_logical_cpus: count must be >= 1, got {count!r}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(int(count))])
    except RuntimeError as err:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) == int(count):
            return existing
        raise RuntimeError(f"configure_logical_cpus({count}): TensorFlow is already initialised with "
                           f"{len(existing)} logical CPU(s); call it first thing in a fresh process "
                           "(before any TF op)") from err
    return tf.config.list_logical_devices("CPU")


def _check_tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("strategy 'multi_worker' needs the TF_CONFIG environment variable on every "
                         "worker, e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:12345\", "
                         "\"host2:12345\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}'; "
                         "see docs/benchmarks.md.")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"TF_CONFIG is not valid: {err!s}; it must be JSON with "
                         "cluster.worker (a list of host:port) and task.type/task.index.") from err
    if not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG: task.index {index} is outside the {len(workers)} workers of "
                         "cluster.worker.")
    return config


def make_strategy(name: str = "default", devices=None):
    """A tf.distribute.Strategy by name.

    Args:
      name: "default", "mirrored" or "multi_worker".
      devices: "mirrored" only: device names (e.g. ["/gpu:0", "/gpu:1"] or logical CPUs); None: every
        GPU of the machine, else the CPU.
    Returns:
      the strategy; build and compile the model inside `strategy.scope()`.
    Raises:
      ValueError: an unknown name, devices given for another strategy, or a missing/invalid TF_CONFIG
        for "multi_worker".
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if devices is not None and name != "mirrored":
        raise ValueError(f"devices= is for the 'mirrored' strategy, not {name!r}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy=None) -> bool:
    """Whether this process writes the run directory: always, except under MultiWorkerMirroredStrategy,
    where only the chief does (task type "chief", or worker 0 of a cluster without one), as TensorFlow's
    multi-worker guide prescribes."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and int(resolver.task_id) == 0 and not has_chief


def per_replica_batch(global_batch: int, strategy) -> int:
    """The shard each replica trains on: global_batch / replicas (which must divide it)."""
    replicas = strategy.num_replicas_in_sync
    if int(global_batch) % replicas:
        raise ValueError(f"batch_size {global_batch} does not split over {replicas} replicas; give a "
                         f"multiple of {replicas} (the batch size is the global batch).")
    return int(global_batch) // replicas


def replica_context():
    """The replica context of a tf.distribute strategy with more than one replica, else None."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def global_batch(ctx, local):
    """Every replica's rows of `local` [b, ...], in replica order: [R·b, ...] (`local` itself if ctx is None).

    The values are the same on every replica; gradients flow only into this replica's own rows. A loss
    computed on global tensors is then the same number on every replica, and the sum over replicas of
    each replica's gradient (what the optimizer's cross-replica all-reduce does) is exactly the
    single-device gradient of that loss on the global batch.
    """
    if ctx is None:
        return local
    gathered = ctx.all_gather(tf.stop_gradient(local), axis=0)
    rows = tf.shape(local)[0]
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * rows
    after = (ctx.num_replicas_in_sync - 1) * rows - start
    paddings = tf.concat([[[start, after]], tf.zeros([local.shape.rank - 1, 2], tf.int32)], axis=0)
    return gathered + tf.pad(local - tf.stop_gradient(local), paddings)


def local_rows(ctx, global_tensor, rows):
    """This replica's `rows` rows of a global-batch tensor (the tensor itself if ctx is None)."""
    if ctx is None:
        return global_tensor
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * rows
    return global_tensor[start:start + rows]


def keras_reducible(logs):
    """A train/test step's logs in a form Keras can reduce across workers.

    Under MultiWorkerMirroredStrategy Keras 3.15 reduces every logged value with
    `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for
    input with 0 dimensions"); a [1] vector reduces to the same scalar. Other strategies: unchanged.
    """
    if not isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: tf.reshape(value, [1]) if value.shape.rank == 0 else value
            for name, value in logs.items()}
