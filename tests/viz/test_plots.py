"""Pictures of a real DisentanglingVAE whose weights the tests set by hand: KL order of the rows,
constant rows for inactive latents, heat maps of a latent wired to posX, files read back."""

import numpy as np
import pytest
from PIL import Image

from tfdisvae import viz
from tfdisvae.viz import grids

# Encoder output bias: posterior means and log-variances, the same for every image (zero kernel).
MEANS = np.array([0.0, 2.0, 0.5, 1.0], np.float32)
LOG_VARS = np.array([0.0, -1.0, -3.0, 0.0], np.float32)
KL = 0.5 * (np.exp(LOG_VARS) + MEANS**2 - 1.0 - LOG_VARS)  # [0, 2.18, 1.125, 0.5] nats
INACTIVE = (0, 2)  # decoder ignores these latents


def wired_vae(image_shape, inactive=INACTIVE):
    """A VAE whose posterior is N(MEANS, exp(LOG_VARS)) for every image and whose decoder ignores the
    `inactive` latents (zero rows of its first kernel) and reacts strongly to the others."""
    from tfdisvae.models import DisentanglingVAE

    model = DisentanglingVAE(method="vae", latent_dim=len(MEANS), image_shape=image_shape, seed=0)
    head = model.encoder.get_layer("mean_log_var")
    kernel, _ = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.concatenate([MEANS, LOG_VARS])])
    first = model.decoder.get_layer("dense0")
    kernel, bias = first.get_weights()
    kernel = kernel * 8.0
    kernel[list(inactive)] = 0.0
    first.set_weights([kernel, bias])
    last = model.decoder.get_layer("params")  # sharpen the output so changes show in 8-bit pixels
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 20.0, bias])
    return model


@pytest.fixture(scope="module")
def vae64():
    return wired_vae((64, 64, 1))


@pytest.fixture(scope="module")
def images64():
    rng = np.random.default_rng(0)
    return (rng.uniform(size=(6, 64, 64, 1)) > 0.7).astype(np.uint8)


def _read_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _cells_of(pixels, picture):
    """The grid cells [rows, cols, H, W, 3] read from a picture's pixels (undoing the upscaling)."""
    layout = picture.layout
    top, left, h, w = layout.grid_box
    grid = pixels[top:top + h:layout.scale, left:left + w:layout.scale]
    return grids.untile(grid, layout.rows, layout.cols, layout.cell_shape, layout.pad)


def test_posterior_traversal_rows_follow_kl_and_inactive_rows_are_constant(vae64, images64,
                                                                           tmp_path):
    picture = viz.traversals(vae64, images64, num_values=7)
    order = np.argsort(-KL)
    np.testing.assert_array_equal(picture.data["latents"], order)
    np.testing.assert_allclose(picture.data["kl"], KL, rtol=1e-5, atol=1e-6)
    assert picture.layout.row_labels == [f"z{j}  KL {KL[j]:.2f}" for j in order]
    assert picture.layout.title.startswith("vae · posterior traversals sorted by KL")
    np.testing.assert_allclose(picture.data["base"], MEANS, atol=1e-6)

    path = picture.save(tmp_path / "traversals.png")
    pixels = _read_png(path)
    # The file's size is the layout's: grid 4 rows x 7 columns of 64 px with 2 px gaps, plus margins.
    assert pixels.shape == (picture.layout.height, picture.layout.width, 3)
    assert picture.layout.grid_box[2:] == (4 * 64 + 3 * 2, 7 * 64 + 6 * 2)
    np.testing.assert_array_equal(pixels, picture.pixels)
    cells = _cells_of(pixels, picture).astype(np.int16)
    for row, j in enumerate(order):
        spread = np.abs(cells[row] - cells[row, :1]).max()
        if j in INACTIVE:
            assert spread == 0, f"row of inactive z{j} changes"
        else:
            assert spread > 20, f"row of active z{j} barely changes ({spread}/255)"
    # Row r holds the decoded codes that vary latent order[r] only.
    expected = viz.decode(vae64, picture.data["codes"])
    np.testing.assert_array_equal(cells[..., 0], grids.to_uint8(expected)[..., 0])


def test_prior_traversals_are_truncated_to_top_k_and_keep_the_order(vae64, images64):
    picture = viz.traversals(vae64, images64, mode="prior", top_k=2, num_values=5, seed=3)
    np.testing.assert_array_equal(picture.data["latents"], np.argsort(-KL)[:2])
    assert picture.data["cells"].shape == (2, 5, 64, 64, 1)
    base = picture.data["base"]
    np.testing.assert_allclose(base, np.random.default_rng(3).standard_normal(4), atol=1e-6)
    unsorted = viz.traversals(vae64, None, mode="prior", sort_by_kl=False, kl=KL, num_values=3)
    np.testing.assert_array_equal(unsorted.data["latents"], [0, 1, 2, 3])
    with pytest.raises(ValueError, match="images"):
        viz.traversals(vae64, None, mode="posterior")


def test_reconstructions_and_samples_of_a_32px_rgb_model(tmp_path):
    model = wired_vae((32, 32, 3))
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    rec = viz.reconstructions(model, images)
    assert rec.layout.scale == 2  # 32 px cells are drawn at 64 px
    pixels = _read_png(rec.save(tmp_path / "rec.png"))
    assert pixels.shape == (rec.layout.height, rec.layout.width, 3)
    assert rec.layout.grid_box[2:] == (2 * (2 * 32 + 2), 2 * (5 * 32 + 4 * 2))
    cells = _cells_of(pixels, rec)
    np.testing.assert_array_equal(cells[0], images)  # the originals, unchanged, in the top row
    np.testing.assert_array_equal(cells[1], grids.to_uint8(rec.data["reconstructions"]))
    assert rec.layout.row_labels == ["data", "reconstruction"]

    samples = viz.prior_samples(model, 10, seed=2, cols=4)
    assert samples.data["cells"].shape == (3, 4, 32, 32, 3)
    np.testing.assert_allclose(samples.data["codes"],
                               np.random.default_rng(2).standard_normal((10, 4)), atol=1e-6)
    with pytest.raises(ValueError, match="do not fit the model"):
        viz.reconstructions(model, np.zeros((2, 64, 64, 1), np.float32))


def test_animated_traversals_gif_frames(vae64, images64, tmp_path):
    fixed = viz.animated_traversal(vae64, images64, "fixed_interval_cycle", num_images=2,
                                   num_frames=5, fps=10)
    path = fixed.save(tmp_path / "fixed.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 5
        assert gif.size == fixed.size == (fixed.layout.width, fixed.layout.height)
        assert gif.info["duration"] == 100 and gif.info["loop"] == 0
        gif.seek(3)
        frame = np.asarray(gif.convert("RGB"))
    # Grey pictures survive the GIF palette exactly.
    np.testing.assert_array_equal(frame, fixed.frames[3])
    values = fixed.data["values"]  # [rows, cols, frames]: from the mean, up to 2, down to -2, back
    np.testing.assert_array_equal(fixed.data["latents"], np.argsort(-KL))
    for r, j in enumerate(fixed.data["latents"]):
        assert values[r, 0, 0] == pytest.approx(MEANS[j], abs=1e-5)
        cells = fixed.data["cells"][r, 0]  # [frames, H, W, C]
        assert (np.abs(cells - cells[:1]).max() == 0) == (j in INACTIVE)
    # All posterior means are equal (zero encoder kernel): min = max, so every frame is the same.
    minmax = viz.animated_traversal(vae64, images64, "minmax_interval_cycle", num_images=2,
                                    num_frames=4)
    assert np.all(minmax.frames == minmax.frames[0])


def pooling_encoder_vae():
    """A 64x64 VAE whose encoder is wired by hand: four stride-2 convolutions that sum 2x2 blocks of
    channel 0 (a 16x16-block sum pool), then z0 = sum over the 4x4 blocks of column·mass / 256 and
    z1 = sum of row·mass / 256 (the horizontal and vertical first moments); z2, z3 are constant."""
    model = wired_vae((64, 64, 1), inactive=())
    for i in range(4):
        conv = model.encoder.get_layer(f"conv{i}")
        kernel, bias = conv.get_weights()
        kernel = np.zeros_like(kernel)
        kernel[1:3, 1:3, 0, 0] = 1.0  # with "same" padding these taps are the 2x2 block under the output
        conv.set_weights([kernel, np.zeros_like(bias)])
    dense0 = model.encoder.get_layer("dense0")
    kernel, bias = dense0.get_weights()
    kernel = np.zeros_like(kernel)
    for r in range(4):
        for c in range(4):
            kernel[(r * 4 + c) * 32, 0] = c / 256.0
            kernel[(r * 4 + c) * 32, 1] = r / 256.0
    dense0.set_weights([kernel, np.zeros_like(bias)])
    dense1 = model.encoder.get_layer("dense1")
    kernel, bias = dense1.get_weights()
    dense1.set_weights([np.eye(*kernel.shape, dtype=kernel.dtype), np.zeros_like(bias)])
    head = model.encoder.get_layer("mean_log_var")
    kernel, bias = head.get_weights()
    kernel = np.zeros_like(kernel)
    kernel[0, 0] = kernel[1, 1] = 1.0
    head.set_weights([kernel, np.concatenate([[0.0, 0.0], MEANS[2:], LOG_VARS])])
    return model


def test_heatmap_of_a_latent_wired_to_posx_varies_along_posx_only(tmp_path):
    from tfdisvae.data import load_ground_truth

    data = load_ground_truth("dsprites", source="render", factor_sizes=(3, 2, 4, 8, 8))
    model = pooling_encoder_vae()
    picture = viz.factor_heatmaps(model, data, ("posX", "posY"), samples_per_cell=4, seed=0)
    means = picture.data["means"]  # [latent, posX, posY]
    assert means.shape == (4, 8, 8)
    assert picture.data["factor_names"] == ("posX", "posY")

    def spread(maps, axis):
        """Largest change along `axis` (0: posX, 1: posY) of a [posX, posY] map."""
        return float(np.max(np.ptp(maps, axis=axis)))

    assert spread(means[0], 0) > 0.5  # z0 follows posX ...
    assert spread(means[0], 1) < 0.1 * spread(means[0], 0)  # ... not posY
    # ... and grows with it (the wired encoder sums 16x16 blocks, so its moment is a coarse staircase
    # of the sprite centre, which travels 32 px: close to, not strictly, monotonic over 8 positions)
    assert np.corrcoef(np.arange(8), means[0].mean(axis=1))[0, 1] > 0.95
    assert spread(means[1], 1) > 0.5 and spread(means[1], 0) < 0.1 * spread(means[1], 1)
    np.testing.assert_allclose(means[2:], np.broadcast_to(MEANS[2:, None, None], (2, 8, 8)),
                               atol=1e-6)
    pixels = _read_png(picture.save(tmp_path / "heatmaps.png"))
    assert pixels.shape == picture.pixels.shape  # figsize · dpi, from the panel count

    fig2 = viz.reconstruct_traverse(model, data.images(np.arange(0, 1500, 300)), data=data,
                                    samples_per_cell=2)
    layout = fig2.layout
    assert (layout.rows, layout.cols) == (2 + 4, 5 + 1)  # originals, reconstructions, 4 latents
    assert layout.col_labels[-1] == "posX→ posY↓"
    cells = _cells_of(_read_png(fig2.save(tmp_path / "fig2.png")), fig2)
    heat = cells[2:, -1].astype(np.int16)  # heat-map column of the latent rows
    # The z0 heat map (the row of z0) changes along x, not along y, in the picture itself.
    row0 = list(fig2.data["latents"]).index(0)
    assert np.abs(np.diff(heat[row0], axis=1)).max() > 0
    assert np.abs(np.diff(heat[row0], axis=0)).max() < np.abs(np.diff(heat[row0], axis=1)).max()
    with pytest.raises(ValueError, match="unknown factor 'posZ'"):
        viz.factor_heatmaps(model, data, ("posX", "posZ"))
