"""Files written by an earlier commit still load, to the same outputs, and resume training.

The fixtures (tests/compat/fixtures-<commit>/, made by make_fixtures.py on that commit) hold two runs
(config.json + checkpoint), their .keras files and an exported encoder/decoder pair.
"""

import dataclasses
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdisvae.runs import load_run
from tfdisvae.training import ArrayData, train

FIXTURES = sorted(Path(__file__).parent.glob("fixtures-*"))
METHODS = ("factor_vae", "beta_tcvae")


def _expected(fixture):
    with np.load(fixture / "expected.npz") as npz:
        return dict(npz)


def _outputs(model, x, z):
    mean, log_var = model.encode_params(x)
    values = {"mean": mean, "log_var": log_var, "logits": model.decode_params(z)}
    if model.discriminator is not None:
        values["tc_logits"] = model.discriminator(z)
    return {k: np.asarray(v) for k, v in values.items()}


def _check(got, expected, prefix, rtol=1e-6, atol=1e-6):
    for name, value in got.items():
        np.testing.assert_allclose(value, expected[f"{prefix}/{name}"], rtol=rtol, atol=atol,
                                   err_msg=f"{prefix}/{name}")


def test_fixtures_are_present():
    assert FIXTURES, "tests/compat/fixtures-* is missing"
    made = json.loads((FIXTURES[0] / "MADE_BY.json").read_text())
    assert tuple(made["methods"]) == METHODS


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("method", METHODS)
def test_checkpoint_restores_and_trains_on_alike(fixture, method, tmp_path):
    expected = _expected(fixture)
    run_dir = shutil.copytree(fixture / "runs" / method, tmp_path / method)
    model, config = load_run(run_dir)
    assert config.model == method
    assert int(model.step) == int(expected[f"{method}/step"])
    assert int(model.optimizer.iterations) == int(expected[f"{method}/optimizer_iterations"])
    _check(_outputs(model, expected["x"], expected["z"]), expected, method)
    # The same train steps from the restored state reach the same weights (train_step unchanged).
    for _ in range(2):
        model.train_on_batch(expected["x"])
    _check(_outputs(model, expected["x"], expected["z"]), expected, f"{method}/resumed",
           rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("method", METHODS)
def test_keras_file_loads_in_safe_mode(fixture, method):
    expected = _expected(fixture)
    model = keras.models.load_model(fixture / f"{method}.keras", safe_mode=True)
    assert model.method == method
    _check(_outputs(model, expected["x"], expected["z"]), expected, method)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_export_serves_the_same_outputs(fixture):
    expected = _expected(fixture)
    encoder = tf.saved_model.load(str(fixture / "export" / "blobs_encoder" / "1"))
    decoder = tf.saved_model.load(str(fixture / "export" / "blobs_decoder" / "1"))
    out = encoder.signatures["serving_default"](images=tf.constant(expected["x"]))
    np.testing.assert_allclose(out["mean"], expected["factor_vae/mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["log_var"], expected["factor_vae/log_var"], rtol=1e-5, atol=1e-6)
    logits = decoder.signatures["serving_default"](latents=tf.constant(expected["z"]))["logits"]
    np.testing.assert_allclose(logits, expected["factor_vae/logits"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_training_resumes_from_the_fixture_run(fixture, tmp_path):
    run_dir = shutil.copytree(fixture / "runs" / "factor_vae", tmp_path / "factor_vae")
    _, config = load_run(run_dir)
    lines = []
    images = (np.random.default_rng(0).random((64, *config.image_shape)) > 0.8).astype(np.float32)
    config = dataclasses.replace(config, steps=config.steps + 2, run_dir=str(run_dir))
    train(config, data=ArrayData(images, name="blobs"), log=lines.append)
    assert any("resuming from step 4" in line for line in lines), lines
    resumed, _ = load_run(run_dir)
    assert int(resumed.step) == 6
