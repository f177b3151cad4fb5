"""Every method's model: the loaded SavedModels give what DisentanglingVAE computes (1e-5), and export.py's errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import export
from tfdisvae.models import make_model
from tfdisvae.objectives.methods import METHODS

ATOL = 1e-5
IMAGE_SHAPE = (32, 32, 1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(0, 1, size=(3, *IMAGE_SHAPE)).astype(np.float32)


@pytest.mark.parametrize("method", METHODS)
def test_exported_model_equals_keras_model(method, images, tmp_path):
    likelihood = "gaussian" if method == "dip_vae_ii" else "bernoulli"  # one non-Bernoulli decoder too
    model = make_model(method, latent_dim=2, image_shape=IMAGE_SHAPE, likelihood=likelihood, seed=0,
                       dataset_size=100)
    result = export.export_model(model, tmp_path, "m")
    enc = tf.saved_model.load(str(result.encoder_dir))
    dec = tf.saved_model.load(str(result.decoder_dir))
    x = tf.constant(images)
    mean, log_var = (t.numpy() for t in model.encode_params(x))
    out = enc.signatures["serving_default"](images=x)
    np.testing.assert_allclose(out["mean"].numpy(), mean, atol=ATOL)
    np.testing.assert_allclose(out["log_var"].numpy(), log_var, atol=ATOL)
    np.testing.assert_allclose(enc.signatures["representation"](images=x)["mean"].numpy(), mean, atol=ATOL)

    z = np.random.default_rng(4).standard_normal((3, 2)).astype(np.float32)
    decoded = dec.signatures["serving_default"](latents=tf.constant(z))
    np.testing.assert_allclose(decoded["probabilities" if likelihood == "bernoulli" else "mean_image"].numpy(),
                               model.decode_mean(z).numpy(), atol=ATOL)
    if likelihood == "bernoulli":
        np.testing.assert_allclose(decoded["logits"].numpy(), model.decode_params(z).numpy(), atol=ATOL)
    np.testing.assert_allclose(dec.signatures["reconstruct"](images=x)["reconstruction"].numpy(),
                               model.reconstruct(x).numpy(), atol=ATOL)


@pytest.fixture
def cli_flags():
    from tfdisvae.cli import export

    yield export.FLAGS  # the command's own flags (tfdisvae.cli keeps each command's apart)
    export.FLAGS.unparse_flags()


def _run_cli(cli_flags, *args):
    from tfdisvae.cli import export as cli

    argv = cli_flags(["export.py", *args])
    cli.main(argv)


def test_cli_missing_run_directory_is_a_clear_error(cli_flags, tmp_path):
    from absl import app

    with pytest.raises(app.UsageError, match="run directory .*nowhere does not exist"):
        _run_cli(cli_flags, f"--run_dir={tmp_path / 'nowhere'}", f"--export_base={tmp_path / 'base'}")
    (tmp_path / "not_a_run").mkdir()
    with pytest.raises(app.UsageError, match="has no config.json"):
        _run_cli(cli_flags, f"--run_dir={tmp_path / 'not_a_run'}", f"--export_base={tmp_path / 'base'}")
    assert not (tmp_path / "base").exists() or not any((tmp_path / "base").rglob("saved_model.pb"))


def test_default_model_name_is_a_valid_serving_name():
    assert export.default_model_name("/runs/beta_vae_h-dsprites-seed0") == "beta_vae_h-dsprites-seed0"
    assert export.default_model_name("/runs/my run (2)") == "my_run__2_"
    assert export.check_model_name(export.default_model_name("/runs/.hidden")) == "hidden"
