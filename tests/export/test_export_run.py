"""export.py on a real (tiny) training run: latest and chosen checkpoints, the command line, clear errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import export

REPO = Path(__file__).resolve().parents[2]
IMAGE_SHAPE = (32, 32, 1)
ATOL = 1e-5


@pytest.fixture(scope="module")
def run_dir(train_tiny, binary_images):
    """Three training steps of beta_vae_h on random binary 32x32 images, a checkpoint after each."""
    return train_tiny(binary_images(32, IMAGE_SHAPE), model="beta_vae_h", latent_dim=2, steps=3,
                      batch_size=8, checkpoint_every=1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).uniform(size=(3, *IMAGE_SHAPE)).astype(np.float32)


def _representation(directory, images):
    loaded = tf.saved_model.load(str(directory))
    return loaded.signatures["representation"](images=tf.constant(images))["mean"].numpy()


def test_export_run_latest_and_chosen_checkpoint(run_dir, images, tmp_path):
    from tfdisvae.runs import load_run

    latest = export.export_run(run_dir, tmp_path, "tiny")
    first = export.export_run(run_dir, tmp_path, "tiny", checkpoint=1)
    assert (latest.version, first.version) == (1, 2)
    model3, _ = load_run(str(run_dir))
    model1, _ = load_run(str(run_dir), checkpoint=1)
    np.testing.assert_allclose(_representation(latest.encoder_dir, images),
                               model3.encode_params(images)[0].numpy(), atol=ATOL)
    np.testing.assert_allclose(_representation(first.encoder_dir, images),
                               model1.encode_params(images)[0].numpy(), atol=ATOL)
    # Two training steps apart, the weights (and so the outputs) differ: the checkpoint choice took effect.
    assert not np.allclose(_representation(latest.encoder_dir, images), _representation(first.encoder_dir, images))
    meta = json.loads((first.decoder_dir / "assets.extra" / export.METADATA_FILENAME).read_text())
    assert meta["source"]["run_dir"] == str(run_dir.resolve()) and meta["source"]["checkpoint"] == "1"
    assert meta["source"]["method"] == "beta_vae_h" and meta["likelihood"] == "bernoulli"


def test_missing_checkpoint_is_a_clear_error(run_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint of step 99"):
        export.export_run(run_dir, tmp_path, "tiny", checkpoint=99)
    assert not list(tmp_path.rglob("saved_model.pb"))


def test_command_line_end_to_end(run_dir, images, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    base = tmp_path / "base"
    ok = subprocess.run([sys.executable, str(REPO / "export.py"), f"--run_dir={run_dir}", f"--export_base={base}"],
                        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert f"version 1: tiny-run_encoder -> {base / 'tiny-run_encoder' / '1'}" in ok.stdout
    refused = subprocess.run([sys.executable, str(REPO / "export.py"), f"--run_dir={run_dir}",
                              f"--export_base={base}", "--version=1"],
                             capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert refused.returncode != 0 and "versions only grow" in refused.stderr
    assert export.list_versions(base / "tiny-run_encoder") == [1]
