"""Pictures of a run: KL curves read from TensorBoard events, ImageSummaries during a real short
training (through the run's one writer), and python -m tfdisvae.viz writing PNG and GIF files."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfdisvae import viz
from tfdisvae.viz import figures

IMAGE_SHAPE = (32, 32, 1)


@pytest.fixture(scope="module")
def run_dir(train_tiny, binary_images):
    """Six steps of a 3-latent beta_vae_h on random binary 32x32 images: scalars every 2 steps,
    images every 3 (ImageSummaries added by the training loop itself)."""
    return str(train_tiny(binary_images(32, IMAGE_SHAPE, threshold=0.6), name="run", model="beta_vae_h",
                          latent_dim=3, steps=6, batch_size=8, checkpoint_every=6, summary_every=2,
                          image_every=3))


def _tensor_events(log_dir):
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def test_kl_curves_read_hand_written_scalars(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    expected = {j: [(step, 0.5 * j + 0.01 * step) for step in (10, 20, 30)] for j in range(3)}
    with writer.as_default():
        for j, points in expected.items():
            for step, value in points:
                tf.summary.scalar(f"loss/kl_z{j}", value, step=step)
        tf.summary.scalar("loss/kl", 1.0, step=10)  # not a per-latent tag: ignored
    writer.flush()
    picture = viz.kl_curves(str(tmp_path), labels={2: "posX"})
    assert sorted(picture.data["curves"]) == [0, 1, 2]
    for j, points in expected.items():
        steps, values = picture.data["curves"][j]
        np.testing.assert_array_equal(steps, [10, 20, 30])
        np.testing.assert_allclose(values, [v for _, v in points], rtol=1e-6)
    assert picture.data["order"] == [2, 1, 0]  # by final KL, largest first
    pixels = np.asarray(Image.open(picture.save(tmp_path / "kl.png")).convert("RGB"))
    assert pixels.shape == (400, 640, 3)  # figsize (6.4, 4.0) at 100 dpi
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no loss/kl_z"):
        viz.kl_curves(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="no TensorBoard log directory"):
        viz.kl_curves(str(tmp_path / "missing"))


def test_training_writes_kl_scalars_and_labelled_images(run_dir, binary_images):
    from tfdisvae import runs

    picture = viz.kl_curves(run_dir)
    assert sorted(picture.data["curves"]) == [0, 1, 2]
    for steps, values in picture.data["curves"].values():
        np.testing.assert_array_equal(steps, [2, 4, 6])
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
    acc = _tensor_events(runs.train_log_dir(run_dir))
    for tag in ("images/reconstructions", "images/traversals"):
        events = acc.Tensors(tag)
        assert [e.step for e in events] == [3, 6]
        # tf.summary.image stores [width, height, png...]; the PNG is the labelled picture.
        width, height, png = tf.make_ndarray(events[-1].tensor_proto)[:3]
        image = tf.io.decode_png(png).numpy()
        assert image.shape == (int(height), int(width), 3)
    model, _ = runs.load_run(run_dir)
    callback = viz.ImageSummaries(binary_images(8, IMAGE_SHAPE, seed=1, threshold=0.6), every_n_steps=1, log_dir="unused-dir")
    callback.set_model(model)
    traversal = callback.pictures()["images/traversals"]
    assert traversal.layout.rows == 3 and traversal.layout.cols == 8


def test_image_summaries_with_log_dir_write_exact_pictures(tmp_path, binary_images):
    from tfdisvae.models import DisentanglingVAE

    model = DisentanglingVAE(method="vae", latent_dim=2, image_shape=IMAGE_SHAPE, seed=0)
    model.compile()
    images = binary_images(16, IMAGE_SHAPE, seed=2, threshold=0.6)
    callback = viz.ImageSummaries(images, 2, log_dir=str(tmp_path), num_images=4)
    model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8).repeat(), steps_per_epoch=3,
              epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    assert callback.written_steps == [2, 3]  # every 2 steps, and at the end
    events = _tensor_events(tmp_path).Tensors("images/reconstructions")
    png = tf.make_ndarray(events[-1].tensor_proto)[2]
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(),
                                  callback.pictures()["images/reconstructions"].pixels)
    with pytest.raises(ValueError, match="writer"):
        viz.ImageSummaries(images, 2)
    with pytest.raises(ValueError, match="every_n_steps"):
        viz.ImageSummaries(images, 0, log_dir=str(tmp_path))


def test_command_writes_every_picture(run_dir, tmp_path, binary_images):
    from tfdisvae.training import ArrayData

    out = tmp_path / "figures"
    written = figures.write_figures(run_dir, ["all"], out_dir=str(out), num_images=4,
                                data=ArrayData(binary_images(32, IMAGE_SHAPE, threshold=0.6), name="random"), log=lambda *_: None)
    # No ground-truth factors in this data: everything but the heat maps.
    assert sorted(written) == sorted(set(figures.PLOTS) - {"factor_heatmaps"})
    for name, paths in written.items():
        for path in paths:
            with Image.open(path) as image:
                assert image.format == ("GIF" if name == "animations" else "PNG")
                assert image.size[0] > 64 and image.size[1] > 64
    gifs = sorted(p.name for p in out.glob("*.gif"))
    assert gifs == sorted(f"{mode}.gif" for mode in viz.ANIMATION_MODES)
    with Image.open(out / "posterior_traversals.png") as image:
        # 3 latent rows of 32 px cells drawn at 64 px (scale 2) with 2 px gaps, scaled too.
        assert image.size[1] > 2 * (3 * 32 + 2 * 2)
    with pytest.raises(ValueError, match="unknown plot"):
        figures.write_figures(run_dir, ["fig9"])


def test_command_line(run_dir, tmp_path, own_stderr_lines):
    def viz(*args):
        return subprocess.run([sys.executable, "-m", "tfdisvae.viz", *args], capture_output=True,
                              text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)

    # argparse's two-word --heatmap_factors X Y still parses (posY is not taken for a plot)
    done = viz(run_dir, "kl_curves", "--out_dir", str(tmp_path / "kl"), "--heatmap_factors", "posX",
               "posY")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "kl" / "kl_curves.png").is_file()
    missing = viz(str(tmp_path / "missing"), "kl_curves")
    assert missing.returncode == 2 and len(own_stderr_lines(missing.stderr)) == 1, missing.stderr
    assert "no TensorBoard log directory" in missing.stderr
    unknown = viz(run_dir, "fig9")
    assert unknown.returncode == 2 and "unknown plot(s) fig9" in unknown.stderr
