"""train(config) on a rendered dSprites subset: the loss falls, a resumed run continues the trajectory of
an uninterrupted one, TensorBoard events hold every term, NaN stops training with the good checkpoint
kept, load_run restores what was trained."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfdisvae import runs
from tfdisvae.config import ConfigError, TrainConfig
from tfdisvae.training import ArrayData, TrainingDiverged, train

LATENT = 4


class Recorder(keras.callbacks.Callback):
    """Per-step logs (with summary_every=1 the trackers are reset every step, so logs are per step)."""

    def __init__(self):
        super().__init__()
        self.steps = {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.steps[step] = {k: float(np.asarray(v)) for k, v in logs.items()}


def _config(run_dir, **kw):
    values = dict(model="factor_vae", dataset="dsprites", data_source="render", train_subset=256,
                  latent_dim=LATENT, batch_size=16, steps=20, checkpoint_every=10, summary_every=1,
                  image_every=0, run_dir=str(run_dir), verbose=0, seed=7)
    values.update(kw)
    return TrainConfig.create(**values)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "full"
    recorder = Recorder()
    train(_config(run_dir), callbacks=[recorder], log=lambda *_: None)
    return run_dir, recorder.steps


def _weights_of(run_dir, checkpoint=None):
    model, _ = runs.load_run(str(run_dir), checkpoint)
    return model, [v.numpy() for v in model.weights]


def test_resumed_run_continues_the_uninterrupted_trajectory(uninterrupted, tmp_path):
    full_dir, full_steps = uninterrupted
    run_dir = tmp_path / "resumed"
    messages = []
    train(_config(run_dir, steps=10), log=messages.append)
    assert sorted(int(p.split("-")[-1].split(".")[0]) for p in os.listdir(run_dir / "checkpoints")
                  if p.endswith(".index")) == [10]
    recorder = Recorder()
    train(_config(run_dir, steps=20), callbacks=[recorder], log=messages.append)
    assert any(m.startswith("resuming from step 10") for m in messages)
    assert sorted(recorder.steps) == list(range(11, 21))
    for step in range(11, 21):
        for term in ("loss", "reconstruction", "kl", "discriminator_loss", "total_correlation_minibatch"):
            np.testing.assert_allclose(recorder.steps[step][term], full_steps[step][term],
                                       rtol=1e-4, atol=1e-4, err_msg=f"{term} at step {step}")
    full_model, full_w = _weights_of(full_dir)
    resumed_model, resumed_w = _weights_of(run_dir)
    assert int(resumed_model.optimizer.iterations) == int(full_model.optimizer.iterations) == 20
    assert int(resumed_model.discriminator_optimizer.iterations) == 20
    for a, b in zip(full_w, resumed_w, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_training_lowers_the_loss(tmp_path):
    recorder = Recorder()
    config = _config(tmp_path / "vae", model="beta_vae_h", batch_size=32, steps=60,
                     checkpoint_every=60, train_subset=512)
    train(config, callbacks=[recorder], log=lambda *_: None)
    first = np.mean([recorder.steps[s]["reconstruction"] for s in range(1, 6)])
    last = np.mean([recorder.steps[s]["reconstruction"] for s in range(56, 61)])
    # An untrained decoder costs 4096·log 2 ≈ 2839 nats; dSprites is ~3% white: a learnt background
    # alone gets far below half of that.
    assert first > 2000
    assert last < 0.5 * first


def test_logs_name_the_minibatch_estimates_and_add_full_data_ones(tmp_path, capsys):
    # The step's MI / TC / dimension-wise KL are minibatch estimates: logged as *_minibatch, kept out of
    # the progress bar. The full-data estimates (estimates/*) are divergences of the subset's mixture.
    config = _config(tmp_path / "run", model="beta_tcvae", batch_size=32, steps=60, checkpoint_every=60,
                     summary_every=10, train_subset=512, estimates_every=30, estimates_points=256,
                     verbose=1)
    train(config, log=lambda *_: None)
    bar = capsys.readouterr().out
    assert "reconstruction" in bar and "minibatch" not in bar and "total_correlation" not in bar
    scalars = _scalars(runs.train_log_dir(config.run_dir))
    assert {"loss/total_correlation_minibatch", "loss/dimwise_kl_minibatch"} <= set(scalars)
    assert "loss/total_correlation" not in scalars
    for step in (30, 60):
        mi, tc, dimwise, kl = (scalars[f"estimates/{t}"][step] for t in
                               ("index_code_mi", "total_correlation", "dimwise_kl", "kl"))
        # Monte-Carlo noise (256 samples) may take a term that is ~0 a hair below it, never further.
        assert tc > -1e-3 and dimwise > -1e-3 and -0.05 < mi <= kl, (step, mi, tc, dimwise, kl)
        assert mi <= np.log(256) + 1e-6  # the mixture of 256 posteriors holds at most log 256 nats


def _scalars(log_dir):
    acc = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}
            for tag in acc.Tags()["tensors"]}


def test_tensorboard_events_hold_every_term(uninterrupted):
    run_dir, full_steps = uninterrupted
    scalars = _scalars(runs.train_log_dir(str(run_dir)))
    expected = {f"loss/{t}" for t in ("loss", "reconstruction", "kl", "index_code_mi_minibatch",
                                      "total_correlation_minibatch", "dimwise_kl_minibatch", "elbo",
                                      "capacity", "dip",
                                      "discriminator_loss", "discriminator_accuracy")}
    expected |= {f"loss/kl_z{j}" for j in range(LATENT)}
    assert expected <= set(scalars)
    assert sorted(scalars["loss/loss"]) == list(range(1, 21))
    for step in (1, 10, 20):
        np.testing.assert_allclose(scalars["loss/loss"][step], full_steps[step]["loss"], rtol=1e-6)
        np.testing.assert_allclose(scalars["loss/kl_z3"][step], full_steps[step]["kl_z3"], rtol=1e-6)


def test_run_directory_and_load_run(uninterrupted):
    run_dir, _ = uninterrupted
    config = TrainConfig.from_json(str(run_dir / "config.json"))
    assert config.image_shape == (64, 64, 1) and config.dataset_size == 256
    assert config.lr == 1e-4 and config.tc_weight == 6.4 and config.steps == 20
    assert json.loads((run_dir / "config.json").read_text())["model"] == "factor_vae"
    model, loaded = runs.load_run(str(run_dir), checkpoint=10)
    assert int(model.optimizer.iterations) == 10 and loaded == config
    x = np.zeros((2, 64, 64, 1), np.float32)
    latest, _ = runs.load_run(str(run_dir))
    assert int(latest.optimizer.iterations) == 20
    assert not np.array_equal(model(x).numpy(), latest(x).numpy())
    with pytest.raises(FileNotFoundError, match="steps available: 10, 20"):
        runs.load_run(str(run_dir), checkpoint=15)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runs.load_run(str(run_dir / "nope"))


def test_load_run_errors_name_the_missing_piece(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        runs.load_run(str(tmp_path))
    _config(tmp_path / "r").resolved((64, 64, 1), 256).to_json(str(tmp_path / "config.json"))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        runs.load_run(str(tmp_path))


def test_same_run_dir_with_other_settings_is_refused(uninterrupted):
    run_dir, _ = uninterrupted
    with pytest.raises(ConfigError, match="latent_dim: 4 there, 5 now"):
        train(_config(run_dir, latent_dim=5), log=lambda *_: None)


class PoisonedData(ArrayData):
    """Good images for the first `good_batches` batches, then NaN images (a corrupt input)."""

    def __init__(self, images, good_batches):
        super().__init__(images)
        self.good_batches = good_batches

    def as_dataset(self, batch_size, shuffle=True, seed=None, start_batch=0, repeat=True):
        good = super().as_dataset(batch_size, shuffle, seed, start_batch, repeat)
        left = max(self.good_batches - start_batch, 0)
        bad = tf.data.Dataset.from_tensors(
            tf.fill([batch_size, *self.image_shape], float("nan"))).repeat()
        return good.take(left).concatenate(bad)


def test_nan_loss_stops_training_and_keeps_the_good_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    images = (rng.random((64, 64, 64, 1)) < 0.05).astype(np.uint8)
    config = _config(tmp_path / "nan", model="vae", steps=40, checkpoint_every=5, summary_every=1)
    with pytest.raises(TrainingDiverged, match=r"step 8: non-finite .*loss.*last good checkpoint: "
                                               r"step 5"):
        train(config, data=PoisonedData(images, good_batches=7), log=lambda *_: None)
    model, _ = runs.load_run(config.run_dir)
    assert int(model.optimizer.iterations) == 5
    assert all(np.all(np.isfinite(v.numpy())) for v in model.weights)
    assert runs.RunCheckpoints(config.run_dir, model).steps == [5]


def test_steps_per_execution_trains_the_same_run(tmp_path):
    # summary_every=5, checkpoint_every=10: "auto" runs 5 steps per call of the train function. The
    # result must be the run of one step per call: same weights, summaries and checkpoints.
    results = {}
    for spe in (1, "auto"):
        run_dir, messages = tmp_path / f"spe-{spe}", []
        train(_config(run_dir, summary_every=5, steps_per_execution=spe), log=messages.append)
        results[spe] = (_weights_of(run_dir)[1], _scalars(runs.train_log_dir(str(run_dir))),
                        sorted(p for p in os.listdir(run_dir / "checkpoints") if p.endswith(".index")),
                        messages)
    (w1, s1, c1, m1), (w5, s5, c5, m5) = results[1], results["auto"]
    assert any("1 step(s) per execution" in m for m in m1)
    assert any("5 step(s) per execution" in m for m in m5)
    assert c1 == c5 == ["ckpt-10.index", "ckpt-20.index"]
    assert sorted(s5["loss/loss"]) == sorted(s1["loss/loss"]) == [5, 10, 15, 20]
    for tag in ("loss/loss", "loss/discriminator_loss", "loss/kl_z0"):
        for step in (5, 10, 15, 20):
            np.testing.assert_allclose(s5[tag][step], s1[tag][step], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{tag} at step {step}")
    for a, b in zip(w1, w5, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
