"""MirroredStrategy over 2 logical CPUs trains every method exactly as one device does.

The child process (distribute_worker.py) trains 3 steps of each method twice from the same weights and
global batches: on the default strategy and over 2 replicas. Each replica sees half of every batch, so a
step that estimated batch statistics per replica (MWS/MSS log q(z), FactorVAE's permutation, DIP's
covariances) or drew correlated noise on the replicas would log different terms; the model gathers the
codes across replicas, so the terms agree to float32 round-off (different summation order only).
"""

import json
import os
import subprocess
import sys

import pytest

from tfdisvae import distribute

METHODS = ("vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii")
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distribute_worker.py")


@pytest.fixture(scope="module")
def results():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run([sys.executable, WORKER, *METHODS], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("method", METHODS)
def test_mirrored_matches_single_device(results, method):
    single, mirrored = results[method]["single"], results[method]["mirrored"]
    assert results[method]["replicas"] == 2
    assert set(single) == set(mirrored)
    expected_terms = {"loss", "reconstruction", "kl", "index_code_mi_minibatch",
                      "total_correlation_minibatch", "dimwise_kl_minibatch"}
    if method == "factor_vae":
        expected_terms |= {"discriminator_loss", "discriminator_accuracy"}
    assert expected_terms <= set(single)
    for name in single:
        assert len(single[name]) == len(mirrored[name]) == 3, name
        # Keras logs running means: the 3rd value already depends on 2 updates of the weights.
        for a, b in zip(single[name], mirrored[name], strict=True):
            # reconstruction ~710 nats: float32 round-off of a sum over 1,024 pixels; small terms
            # (MI, TC, ~1e-2 nats) to 1e-4 absolute.
            assert abs(a - b) <= 1e-4 + 2e-6 * abs(a), (method, name, single[name], mirrored[name])


def test_bad_strategy_names_the_choices():
    with pytest.raises(ValueError, match="default, mirrored, multi_worker"):
        distribute.make_strategy("tpu")
    with pytest.raises(ValueError, match="devices= is for the 'mirrored'"):
        distribute.make_strategy("default", devices=["/cpu:0"])


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
                                    '"index": 3}}')
    with pytest.raises(ValueError, match="task.index 3 is outside the 1 workers"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid"):
        distribute.make_strategy("multi_worker")


def test_per_replica_batch():
    class TwoReplicas:
        num_replicas_in_sync = 2

    assert distribute.per_replica_batch(64, TwoReplicas()) == 32
    with pytest.raises(ValueError, match="give a multiple of 2"):
        distribute.per_replica_batch(63, TwoReplicas())


def test_only_the_chief_writes_the_run_directory():
    import tensorflow as tf

    def strategy(cluster, task_type, task_id):
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
        return type("Strategy", (), {"cluster_resolver": resolver})()

    workers = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    assert distribute.is_chief(distribute.make_strategy("default"))
    assert distribute.is_chief(strategy(workers, "worker", 0))
    assert not distribute.is_chief(strategy(workers, "worker", 1))
    with_chief = {"chief": ["127.0.0.1:3"], **workers}
    assert distribute.is_chief(strategy(with_chief, "chief", 0))
    assert not distribute.is_chief(strategy(with_chief, "worker", 0))
