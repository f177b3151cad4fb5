"""Two real worker processes on 127.0.0.1 (TF_CONFIG, --strategy=multi_worker,
tf.distribute.MultiWorkerMirroredStrategy over gRPC) train one run:

- the result equals single-device training on the same global batches (beta_tcvae and factor_vae, the
  batch-statistics methods), to float32 round-off of the cross-worker gradient sum;
- only the chief (worker 0) writes the run directory: its checkpoints and its one events file; worker 1
  writes into a temporary folder (under its TMPDIR) that it removes;
- a worker SIGKILLed mid-run stops the survivor with one line (the engine cannot go on without it);
  the same two commands again resume from the last checkpoint and end at the uninterrupted weights.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import runs
from tfdisvae.config import TrainConfig
from tfdisvae.training import load_training_data, train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS, EVERY, BATCH, WORKERS = 6, 2, 8, 2
SETTINGS = dict(dataset="dsprites", data_source="render", train_subset=64, latent_dim=4,
                batch_size=BATCH, steps=STEPS, checkpoint_every=EVERY, summary_every=1, image_every=0,
                seed=3)
TIMEOUT = 600  # both workers share 2 cores: startup and graph tracing take most of it


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _flags(model, run_dir, **extra):
    values = {**SETTINGS, "model": model, "run_dir": run_dir, "verbose": 2, **extra}
    return [f"--{k}={v}" for k, v in values.items()]


class Cluster:
    """The two workers of one run: the same train.py command, each with its own TF_CONFIG."""

    def __init__(self, model, run_dir, folder, ports=None):
        self.model, self.run_dir, self.folder = model, run_dir, folder
        self.ports = ports or _free_ports(WORKERS)
        self.procs, self.logs = [], []

    def start(self, tag):
        cluster = {"worker": [f"127.0.0.1:{p}" for p in self.ports]}
        self.procs, self.logs = [], []
        for index in range(WORKERS):
            tmp = os.path.join(self.folder, f"tmp{index}")
            os.makedirs(tmp, exist_ok=True)
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": tmp,
                   "TF_CONFIG": json.dumps({"cluster": cluster,
                                            "task": {"type": "worker", "index": index}})}
            out = open(os.path.join(self.folder, f"{tag}.w{index}.log"), "w+")
            self.logs.append(out)
            self.procs.append(subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "train.py"),
                 *_flags(self.model, self.run_dir, strategy="multi_worker")],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.folder))
        return self

    def wait(self):
        deadline = time.monotonic() + TIMEOUT
        for proc in self.procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        return [proc.returncode for proc in self.procs]

    def output(self, index):
        self.logs[index].flush()
        with open(self.logs[index].name) as handle:
            return handle.read()

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _weights(run_dir, checkpoint=None):
    model, _ = runs.load_run(run_dir, checkpoint)
    return int(model.optimizer.iterations), [v.numpy() for v in model.weights]


def _checkpoint_steps(run_dir):
    folder = runs.checkpoint_dir(run_dir)
    return sorted(int(m.group(1)) for n in os.listdir(folder) if (m := re.fullmatch(r"ckpt-(\d+)\.index", n)))


class ShardOrder:
    """A data set whose every global batch is reordered so that one device's halves (x1 | x2) are the
    halves the replicas train on: each of R replicas splits its own shard of the batch, so the global
    x1 is [shard 0 first half, shard 1 first half, ...] (see tests/distribute/distribute_worker.py)."""

    def __init__(self, data, replicas):
        self.data, self.replicas = data, replicas
        self.num_examples, self.image_shape = data.num_examples, data.image_shape

    def images(self, indices):
        return self.data.images(indices)

    def as_dataset(self, batch_size, **kwargs):
        shard = batch_size // self.replicas
        first = [r * shard + i for r in range(self.replicas) for i in range(shard // 2)]
        second = [r * shard + shard // 2 + i for r in range(self.replicas) for i in range(shard // 2)]
        order = tf.constant(first + second)
        return self.data.as_dataset(batch_size, **kwargs).map(lambda batch: tf.gather(batch, order))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """{model: (cluster, run_dir, reference_run_dir)}: a two-worker run and its single-device twin."""
    results = {}
    for model in ("beta_tcvae", "factor_vae"):
        folder = str(tmp_path_factory.mktemp(f"mw-{model}"))
        run_dir = os.path.join(folder, "run")
        cluster = Cluster(model, run_dir, folder).start("full")
        try:
            codes = cluster.wait()
        finally:
            cluster.kill_all()
        assert codes == [0, 0], cluster.output(0)[-3000:] + cluster.output(1)[-3000:]
        reference = os.path.join(folder, "single")
        config = TrainConfig.create(model=model, run_dir=reference, verbose=0, **SETTINGS)
        data = load_training_data(config)
        if model == "factor_vae":
            data = ShardOrder(data, WORKERS)
        train(config, data=data, log=lambda *_: None)
        results[model] = (cluster, run_dir, reference)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("model", ["beta_tcvae", "factor_vae"])
def test_two_workers_train_as_one_device(uninterrupted, model):
    cluster, run_dir, reference = uninterrupted[model]
    assert "2 replica(s)" in cluster.output(0)
    step, weights = _weights(run_dir)
    ref_step, ref_weights = _weights(reference)
    assert step == ref_step == STEPS
    assert len(weights) == len(ref_weights) > 0
    for a, b in zip(ref_weights, weights, strict=True):
        # The same global batches; only the order of the cross-worker gradient sum differs.
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-6)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["beta_tcvae", "factor_vae"])
def test_only_the_chief_writes(uninterrupted, model):
    cluster, run_dir, _ = uninterrupted[model]
    chief, other = cluster.procs
    assert _checkpoint_steps(run_dir) == [2, 4, 6]
    assert sorted(os.listdir(run_dir)) == ["checkpoints", "config.json", "logs"]
    events = sorted(os.listdir(os.path.join(run_dir, "logs", "train")))
    # The session-start marker and one events file, named after the process that wrote them: the chief.
    assert len(events) == 2 and events[0].endswith(".restart"), events
    assert all(f".{chief.pid}." in name for name in events), (events, chief.pid, other.pid)
    # Worker 1 wrote its checkpoints and summaries into a temporary folder and removed it.
    assert os.listdir(os.path.join(cluster.folder, "tmp1")) == []
    assert "run directory:" in cluster.output(1) and "done: step" not in cluster.output(1)


@pytest.mark.slow
def test_killed_worker_then_same_commands_resume(uninterrupted, tmp_path, own_stderr_lines):
    _, full_dir, _ = uninterrupted["beta_tcvae"]
    run_dir = str(tmp_path / "run")
    cluster = Cluster("beta_tcvae", run_dir, str(tmp_path)).start("first")
    try:
        deadline = time.monotonic() + TIMEOUT
        ckpt = os.path.join(runs.checkpoint_dir(run_dir), f"ckpt-{EVERY}.index")
        while not os.path.exists(ckpt):
            assert all(p.poll() is None for p in cluster.procs), cluster.output(0)[-3000:]
            assert time.monotonic() < deadline, "no checkpoint before the timeout"
            time.sleep(0.005)
        # Freeze worker 1 at once: the chief's next step waits on its collectives, so the run cannot
        # finish before the kill lands (a kill alone could arrive after the last of the few steps).
        cluster.procs[1].send_signal(signal.SIGSTOP)
        cluster.procs[1].send_signal(signal.SIGKILL)
        codes = cluster.wait()
    finally:
        cluster.kill_all()
    kept = max(_checkpoint_steps(run_dir))
    assert codes == [1, -signal.SIGKILL], cluster.output(0)[-3000:]
    lines = own_stderr_lines(cluster.output(0))
    error = [line for line in lines if line.startswith("train.py: error:")]
    assert len(error) == 1 and "a worker of the cluster was lost" in error[0], lines[-5:]
    assert "start every worker again with the same command" in error[0]
    assert kept < STEPS
    # The same two commands, the same addresses.
    cluster.start("second")
    try:
        codes = cluster.wait()
    finally:
        cluster.kill_all()
    assert codes == [0, 0], cluster.output(0)[-3000:] + cluster.output(1)[-3000:]
    assert f"resuming from step {kept}" in cluster.output(0)
    step, weights = _weights(run_dir)
    full_step, full = _weights(full_dir)
    assert step == full_step == STEPS
    for a, b in zip(full, weights, strict=True):
        np.testing.assert_array_equal(b, a)
