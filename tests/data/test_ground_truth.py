"""GroundTruthData and as_dataset: images, factors, the deterministic resumable stream, bad input."""

import numpy as np
import pytest
import tensorflow as tf

import tfdisvae.data as data_lib
from tfdisvae.data import dsprites
from tfdisvae.data.ground_truth import ArrayImages, GroundTruthData, ImageData, index_batches

SMALL = (3, 2, 3, 4, 4)  # 288 images
N = 288


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    return data_lib.load_ground_truth("dsprites", data_dir=data_dir, source="cache",
                                      factor_sizes=SMALL)


def batches(ds, count):
    return [b.numpy() for b in ds.take(count)]


def index_list(count, **kwargs):
    return [b.numpy() for b in index_batches(N, 50, **kwargs).take(count)]


def test_dsprites_api_surface(cached):
    assert cached.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert cached.factor_sizes == SMALL and cached.num_factors == 5
    assert cached.num_examples == N and cached.image_shape == (64, 64, 1)
    idx = np.array([0, 1, 100, 287])
    factors = cached.factors(idx)
    assert factors.dtype == np.int64 and factors.shape == (4, 5)
    np.testing.assert_array_equal(cached.index_of(factors), idx)
    np.testing.assert_array_equal(cached.images_of(factors), cached.images(idx))
    np.testing.assert_array_equal(cached.images(idx)[..., 0], data_lib.render(factors, SMALL))
    latents = cached.latents_values(idx)
    assert latents.shape == (4, 6)
    np.testing.assert_allclose(latents[-1], [1, 3, 1.0, 2 * np.pi, 1, 1])
    np.testing.assert_array_equal(cached.latents_classes(idx)[:, 1:], factors)
    np.testing.assert_allclose(cached.factors_to_values(factors), latents[:, 1:])


def test_dataset_images_are_the_indexed_images_as_float(cached):
    ds = cached.as_dataset(50, shuffle=True, seed=7)
    assert ds.element_spec.shape.as_list() == [50, 64, 64, 1]
    assert ds.element_spec.dtype == tf.float32
    for images, idx in zip(batches(ds, 7), index_list(7, seed=7), strict=True):
        assert images.min() == 0.0 and images.max() == 1.0
        np.testing.assert_array_equal(images, cached.images(idx).astype(np.float32))


def test_stream_is_deterministic_given_the_seed(cached):
    a = batches(cached.as_dataset(50, seed=3), 4)
    b = batches(cached.as_dataset(50, seed=3), 4)
    c = batches(cached.as_dataset(50, seed=4), 4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("start", [1, 5, 6, 11, 13])  # batch 5 straddles the first epoch boundary
def test_start_batch_resumes_the_uninterrupted_stream(start):
    full = index_list(16, seed=11)
    resumed = index_list(16 - start, seed=11, start_batch=start)
    for x, y in zip(full[start:], resumed, strict=True):
        np.testing.assert_array_equal(x, y)


def test_start_batch_resumes_the_image_stream(cached):
    full = batches(cached.as_dataset(64, seed=2), 10)
    resumed = batches(cached.as_dataset(64, seed=2, start_batch=6), 4)
    for x, y in zip(full[6:], resumed, strict=True):
        np.testing.assert_array_equal(x, y)


def test_every_epoch_is_a_permutation_in_a_fresh_order():
    stream = np.concatenate([b.numpy() for b in index_batches(N, 48, seed=5).take(3 * N // 48)])
    epochs = stream.reshape(3, N)
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(N))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[0], np.arange(N))


def test_unshuffled_single_pass_is_in_order_and_drops_the_remainder():
    out = [b.numpy() for b in index_batches(N, 50, shuffle=False, repeat=False)]
    assert len(out) == N // 50
    np.testing.assert_array_equal(np.concatenate(out), np.arange(250))
    assert [b.numpy().tolist() for b in index_batches(N, 50, shuffle=False, repeat=False,
                                                      start_batch=5)] == []


def test_on_demand_source_streams_the_same_images(cached):
    rendered = data_lib.load_ground_truth("dsprites", source="render", factor_sizes=SMALL)
    for x, y in zip(batches(rendered.as_dataset(32, seed=9), 3),
                    batches(cached.as_dataset(32, seed=9), 3), strict=True):
        np.testing.assert_array_equal(x, y)


def test_full_grid_on_demand_source_serves_training_batches():
    data = data_lib.load_ground_truth("dsprites", source="render")
    (images,) = batches(data.as_dataset(16, seed=0, start_batch=46_079), 1)  # crosses into epoch 1
    assert images.shape == (16, 64, 64, 1) and images.sum(axis=(1, 2, 3)).min() > 0


def test_eight_bit_array_source_scales_to_unit_range():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 8, 8, 3), dtype=np.uint8)
    data = ImageData("toy", ArrayImages(images))
    (batch,) = batches(data.as_dataset(12, shuffle=False, repeat=False), 1)
    np.testing.assert_allclose(batch, images / 255.0, rtol=1e-6)


def test_ground_truth_with_an_incomplete_shuffled_grid():
    factors = np.array([[1, 2], [0, 0], [1, 0], [0, 2]])  # 4 of the 2 x 3 grid points, shuffled
    images = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    data = GroundTruthData("toy", ("a", "b"), (2, 3), ArrayImages(images), factors=factors)
    assert not data.complete_grid
    np.testing.assert_array_equal(data.index_of([[0, 2], [1, 2]]), [3, 0])
    np.testing.assert_array_equal(data.images_of([[1, 0]])[:, 0, 0, 0], [2])
    with pytest.raises(KeyError, match=r"no image of factor classes \[0, 1\]"):
        data.index_of([0, 1])
    sample = data.sample_factors(400, seed=1)
    assert {tuple(r) for r in sample} == {tuple(r) for r in factors}
    np.testing.assert_array_equal(sample, data.sample_factors(400, seed=np.random.default_rng(1)))


def test_sample_factors_is_uniform_over_the_grid_and_seeded(cached):
    a = cached.sample_factors(6000, seed=0)
    np.testing.assert_array_equal(a, cached.sample_factors(6000, seed=0))
    assert a.shape == (6000, 5) and a.dtype == np.int64
    for k, size in enumerate(SMALL):
        counts = np.bincount(a[:, k], minlength=size)
        assert len(counts) == size
        np.testing.assert_allclose(counts / 6000, 1 / size, atol=0.03)


def test_bad_input_gets_a_clear_error(cached):
    with pytest.raises(IndexError, match="288 is outside 0..287"):
        cached.images([0, 288])
    with pytest.raises(ValueError, match="posX class 4 is outside 0..3"):
        cached.index_of([0, 0, 0, 4, 0])
    with pytest.raises(ValueError, match=r"\[n, 5\]"):
        cached.index_of([0, 0, 0])
    with pytest.raises(ValueError, match="batch_size must be"):
        cached.as_dataset(0)
    with pytest.raises(ValueError, match="no full batch"):
        cached.as_dataset(300, repeat=False)
    with pytest.raises(ValueError, match="valid names: dsprites, color_dsprites, .*, cars3d, mnist"):
        data_lib.load("cifar10")
    with pytest.raises(ValueError, match="valid names: dsprites, .*, smallnorb, mpi3d_toy, .*, cars3d$"):
        data_lib.load_ground_truth("mnist")
    with pytest.raises(ValueError, match="source must be"):
        data_lib.load_ground_truth("dsprites", source="download")
    with pytest.raises(ValueError, match="factor_sizes"):
        dsprites.load_dsprites(source="render", factor_sizes=(4, 6, 40, 32, 32))


def test_to_float_images_scales_binary_and_8bit_and_rejects_bad_input():
    binary = np.array([[[0, 1], [1, 0]]], np.uint8)
    np.testing.assert_array_equal(data_lib.to_float_images(binary)[..., 0], binary.astype(np.float32))
    eight = np.full((1, 2, 2, 3), 255, np.uint8)
    eight[0, 0, 0] = 51
    out = data_lib.to_float_images(eight)
    assert out.shape == (1, 2, 2, 3) and out[0, 0, 0, 0] == pytest.approx(0.2) and out.max() == 1.0
    # A dark 8-bit batch is not mistaken for binary when the source says white is 255.
    assert data_lib.to_float_images(np.ones((1, 2, 2, 1), np.uint8), max_value=255).max() == \
        pytest.approx(1 / 255)
    with pytest.raises(ValueError, match="logits"):
        data_lib.to_float_images(np.full((1, 2, 2, 1), 3.0, np.float32))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        data_lib.to_float_images(np.zeros((1, 2, 2, 4), np.float32))


def test_numpy_scaling_is_the_stream_scaling_bit_for_bit():
    # Every 8-bit value, through the numpy entry (metrics, pictures, ArrayData) and through the
    # in-graph gather of as_dataset: x·(1/255) in float32 both ways (x/255 differs for 126 values).
    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    data = ImageData("ramp", ArrayImages(values, max_value=255))
    (streamed,) = batches(data.as_dataset(1, shuffle=False, repeat=False), 1)
    np.testing.assert_array_equal(streamed, data_lib.to_float_images(values, 255))
    np.testing.assert_array_equal(streamed, data_lib.float_images(data, [0]))
    assert np.sum(streamed != values / np.float32(255)) > 0  # the other rounding is not the same


@pytest.mark.parametrize("start_batch", [0, 3, 7])
def test_array_data_serves_the_stream_of_every_data_set(start_batch):
    images = np.random.default_rng(0).random((20, 4, 4, 1)).astype(np.float32)
    data = data_lib.ArrayData(images, name="noise")
    assert (data.num_examples, data.image_shape) == (20, (4, 4, 1))
    got = batches(data.as_dataset(6, seed=3, start_batch=start_batch), 4)
    want = [b.numpy() for b in index_batches(20, 6, seed=3, start_batch=start_batch).take(4)]
    for batch, idx in zip(got, want, strict=True):
        np.testing.assert_array_equal(batch, images[idx])
    masks = (images > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(data_lib.ArrayData(masks).images(np.arange(20)), masks)
    np.testing.assert_array_equal(data_lib.ArrayData(masks * 255).images([2, 5]),
                                  masks[[2, 5]].astype(np.float32))
