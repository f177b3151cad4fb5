"""TFDS data sets offline: real TFDS code paths on mock examples (the real feature specs), and the
fast, explanatory failure when a set is not prepared."""

import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfdisvae.data as data_lib
from tfdisvae.data.tfds_data import _resize


def mock(num_examples=12):
    return tfds.testing.mock_data(num_examples=num_examples,
                                  policy=tfds.testing.MockPolicy.USE_CODE)


@pytest.mark.parametrize("name, shape, names, sizes", [
    ("shapes3d", (64, 64, 3),
     ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"), (10, 10, 10, 8, 4, 15)),
    ("smallnorb", (64, 64, 1),  # 96 x 96 in TFDS, resized
     ("category", "instance", "elevation", "azimuth", "lighting"), (5, 10, 9, 18, 6)),
])
def test_ground_truth_sets_expose_their_factors(tmp_path, name, shape, names, sizes):
    with mock():
        data = data_lib.load_ground_truth(name, data_dir=tmp_path)
    assert isinstance(data, data_lib.GroundTruthData)
    assert data.image_shape == shape and data.num_examples == 12
    assert data.factor_names == names and data.factor_sizes == sizes
    factors = data.factors(np.arange(12))
    assert factors.shape == (12, len(sizes)) and np.all(factors < np.asarray(sizes))
    # index_of finds each image by its factors (mock labels may repeat a grid point: the last wins).
    unique_rows = [i for i in range(12) if (factors[:i + 1] == factors[i]).all(axis=1).sum() == 1
                   and (factors == factors[i]).all(axis=1).sum() == 1]
    np.testing.assert_array_equal(data.index_of(factors[unique_rows]), unique_rows)
    images = data.images(np.arange(12))
    assert images.dtype == np.uint8 and images.shape == (12, *shape) and images.max() > 1

    # The second load reads the checksummed cache, without TFDS mocking or TFDS data.
    again = data_lib.load(name, data_dir=tmp_path)
    np.testing.assert_array_equal(again.images(np.arange(12)), images)
    np.testing.assert_array_equal(again.factors(np.arange(12)), factors)
    (batch,) = list(again.as_dataset(4, shuffle=False, repeat=False).take(1))
    np.testing.assert_allclose(batch.numpy(), images[:4] / 255.0, rtol=1e-6)


@pytest.mark.parametrize("name, channels", [("mnist", 1), ("fashion_mnist", 1), ("celeb_a", 3)])
def test_image_sets_are_resized_for_the_model(tmp_path, name, channels):
    with mock(6):
        data = data_lib.load(name, data_dir=tmp_path)
        native = data_lib.load(name, data_dir=tmp_path, image_size=None)
    assert not isinstance(data, data_lib.GroundTruthData)
    assert data.image_shape == (64, 64, channels) and data.num_examples == 6
    assert native.image_shape[-1] == channels and native.image_shape != (64, 64, channels)
    (batch,) = list(data.as_dataset(3, seed=0).take(1))
    assert batch.shape == (3, 64, 64, channels) and batch.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


def test_resize_crops_to_a_square_then_averages():
    # A 4 x 6 image: the centre 4 x 4 crop keeps columns 1..4; area resizing to 2 x 2 averages 2 x 2 blocks.
    image = np.arange(24, dtype=np.uint8).reshape(4, 6, 1)
    out = _resize(tf.constant(image), 2).numpy()[..., 0]
    crop = image[:, 1:5, 0].astype(float)
    expected = crop.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.round(expected))
    assert _resize(tf.constant(image[:4, :4]), 4).numpy().tolist() == image[:4, :4].tolist()


@pytest.mark.parametrize("name", ["mnist", "shapes3d"])
def test_missing_data_set_fails_fast_and_says_how_to_prepare_it(tmp_path, name):
    start = time.perf_counter()
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        data_lib.load(name, data_dir=tmp_path)
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert f"tfds build {name} --data_dir" in message and str(tmp_path) in message
    assert not (tmp_path / "tfds-cache").exists()  # nothing half-made is left behind
