"""Color, noisy and scream dSprites on a small rendered grid: the nuisance sits where
disentanglement_lib puts it, is seeded and reproducible, and changes from epoch to epoch of the stream."""

import numpy as np
import pytest
from PIL import Image

import tfdisvae.data as data_lib
from tfdisvae.data.dsprites_variants import load_background

SIZES = (3, 2, 4, 3, 3)  # a reduced dSprites grid: 216 points


def _load(variant, tmp_path, **kw):
    return data_lib.load_ground_truth(variant, data_dir=tmp_path, source="render", factor_sizes=SIZES,
                                      **kw)


def _masks(tmp_path, idx):
    base = data_lib.load_ground_truth("dsprites", data_dir=tmp_path, source="render",
                                      factor_sizes=SIZES)
    return base.images(idx)[..., 0].astype(bool)


@pytest.fixture
def picture(tmp_path):
    """A 96 × 80 RGB picture (width × height) whose pixels all differ, saved losslessly."""
    rng = np.random.default_rng(3)
    array = rng.integers(0, 256, size=(80, 96, 3), dtype=np.uint8)
    path = tmp_path / "background.png"
    Image.fromarray(array).save(path)
    return path, array


@pytest.mark.parametrize("variant", data_lib.DSPRITES_VARIANTS)
def test_variants_keep_the_dsprites_factors_and_grid(tmp_path, picture, variant):
    data = _load(variant, tmp_path, background_image=picture[0])
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == SIZES and data.num_examples == int(np.prod(SIZES))
    assert data.image_shape == (64, 64, 3)
    idx = np.arange(data.num_examples)
    np.testing.assert_array_equal(data.index_of(data.factors(idx)), idx)
    sampled = data.sample_factors(50, seed=1)
    assert sampled.shape == (50, 5) and np.all(sampled < np.asarray(SIZES))
    images = data.images([0, 7, 100])
    assert images.dtype == np.uint8 and images.shape == (3, 64, 64, 3)
    # Reproducible: the same seed gives the same images in another object; another seed does not.
    np.testing.assert_array_equal(_load(variant, tmp_path, background_image=picture[0])
                                  .images([0, 7, 100]), images)
    other = _load(variant, tmp_path, background_image=picture[0], seed=1).images([0, 7, 100])
    assert not np.array_equal(other, images)


def test_color_dsprites_paints_the_sprite_one_colour_in_the_upper_half(tmp_path):
    data = _load("color_dsprites", tmp_path)
    idx = np.arange(0, data.num_examples, 5)
    images, masks = data.images(idx), _masks(tmp_path, idx)
    colours = []
    for image, mask in zip(images, masks, strict=True):
        assert mask.any() and np.all(image[~mask] == 0)
        pixels = image[mask]
        assert np.all(pixels == pixels[0])  # one colour over the whole sprite
        colours.append(pixels[0])
    colours = np.asarray(colours, np.float64) / 255.0
    assert colours.min() >= 0.5 - 1 / 510 and colours.max() <= 1.0
    assert len(np.unique(colours, axis=0)) == len(colours)  # drawn per example
    np.testing.assert_allclose(colours.mean(), 0.75, atol=0.03)  # uniform on [0.5, 1)


def test_noisy_dsprites_keeps_the_sprite_white_over_uniform_noise(tmp_path):
    data = _load("noisy_dsprites", tmp_path)
    idx = np.arange(0, data.num_examples, 9)
    images, masks = data.images(idx), _masks(tmp_path, idx)
    assert np.all(images[masks] == 255)
    background = images[~masks].astype(np.float64) / 255.0
    np.testing.assert_allclose(background.mean(), 0.5, atol=0.01)
    np.testing.assert_allclose(background.var(), 1 / 12, rtol=0.05)  # uniform on [0, 1)


def test_scream_dsprites_inverts_a_patch_of_the_picture_averaged_with_one_colour(tmp_path, picture):
    path, array = picture
    data = _load("scream_dsprites", tmp_path, background_image=path)
    background = array.astype(np.float64) / 255.0
    idx = np.array([3, 50, 150])
    images, masks = data.images(idx), _masks(tmp_path, idx)
    for image, mask in zip(images, masks, strict=True):
        values = image.astype(np.float64) / 255.0
        plain = np.where(mask[..., None], 1.0 - values, values)  # undo the inversion on the sprite
        # Some crop (row < 80 - 64, column < 96 - 64) makes 2 * plain - patch one colour in [0, 1).
        found = []
        for row in range(80 - 64):
            for col in range(96 - 64):
                colour = 2 * plain - background[row:row + 64, col:col + 64]
                if np.ptp(colour, axis=(0, 1)).max() < 4 / 255:
                    found.append((row, col, colour.mean(axis=(0, 1))))
        assert len(found) == 1, found
        assert np.all(found[0][2] > -2 / 255) and np.all(found[0][2] < 1 + 2 / 255)


def test_the_stream_draws_a_new_nuisance_each_epoch_and_resumes(tmp_path):
    import tensorflow as tf

    data = _load("color_dsprites", tmp_path)
    n = data.num_examples  # 216 = 27 batches of 8
    stream = data.as_dataset(8, shuffle=False, seed=0)
    batches = [b.numpy() for b in stream.take(28)]
    # Epoch 0 of the stream is images(); epoch 1 shows the same sprites in other colours.
    np.testing.assert_allclose(batches[0], data.images(np.arange(8)) / 255.0, rtol=1e-6)
    assert batches[0].dtype == np.float32 and batches[0].shape == (8, 64, 64, 3)
    np.testing.assert_allclose(batches[27], data.images(np.arange(8), epoch=1) / 255.0, rtol=1e-6)
    assert not np.array_equal(batches[27], batches[0])
    np.testing.assert_array_equal(batches[27] > 0, batches[0] > 0)
    # start_batch=k continues exactly, across the epoch boundary; shuffling follows index_batches.
    resumed = [b.numpy() for b in data.as_dataset(8, shuffle=False, seed=0, start_batch=26).take(2)]
    np.testing.assert_array_equal(resumed[0], batches[26])
    np.testing.assert_array_equal(resumed[1], batches[27])
    (shuffled,) = data.as_dataset(8, seed=5).take(1)
    order = next(iter(data_lib.index_batches(n, 8, seed=5))).numpy()
    np.testing.assert_allclose(shuffled.numpy(), data.images(order) / 255.0, rtol=1e-6)
    assert isinstance(shuffled, tf.Tensor)


def test_scream_needs_its_picture_and_says_where(tmp_path):
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        _load("scream_dsprites", tmp_path)
    message = str(err.value)
    assert str(tmp_path / "scream" / "scream.jpg") in message and "background_image" in message
    assert "\n" not in message
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((64, 200, 3), np.uint8)).save(small)
    with pytest.raises(data_lib.DataFileError, match="more than 64 px"):
        load_background(small)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    with pytest.raises(data_lib.DataFileError, match="not a readable picture"):
        load_background(broken)


def test_scream_picture_is_shrunk_to_fit_350_by_274(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.full((548, 500, 3), 200, np.uint8)).save(path)  # height 548, width 500
    background = load_background(path)
    assert background.shape == (274, 250, 3)  # aspect kept, height limited to 274
    np.testing.assert_allclose(background, 200 / 255)
