"""The dSprites cache and original files, on a small grid through the same code path as the full one."""

import hashlib
import json
import logging
import os
import zipfile

import h5py
import numpy as np
import pytest

import tfdisvae.data as data_lib
from tfdisvae.data import cache as cache_lib
from tfdisvae.data import dsprites

SMALL = (3, 2, 3, 4, 4)  # 288 images
N_SMALL = 288


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def rendered(tmp_path):
    """(data_dir, cache folder) of a freshly built small-grid cache."""
    return tmp_path, dsprites.build_cache(tmp_path, SMALL)


def all_images(data):
    return data.images(np.arange(data.num_examples))


def test_cache_holds_the_rendered_grid_in_the_file_layout(rendered):
    data_dir, folder = rendered
    assert folder == dsprites.rendered_cache_dir(data_dir, SMALL)
    assert sorted(os.listdir(folder)) == ["imgs.npy", "latents_classes.npy", "latents_values.npy",
                                          "manifest.json"]
    packed = np.load(os.path.join(folder, "imgs.npy"))
    assert packed.shape == (N_SMALL, 64, 8) and packed.dtype == np.uint8
    expected = dsprites.render(dsprites.grid_classes(SMALL), SMALL)
    np.testing.assert_array_equal(np.unpackbits(packed, axis=-1), expected)
    values, classes = dsprites.latents_arrays(SMALL)
    np.testing.assert_array_equal(np.load(os.path.join(folder, "latents_classes.npy")), classes)
    np.testing.assert_array_equal(np.load(os.path.join(folder, "latents_values.npy")), values)
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["key"]["factor_sizes"] == list(SMALL)
    assert manifest["files"]["imgs.npy"]["sha256"] == sha256(os.path.join(folder, "imgs.npy"))

    data = data_lib.load_ground_truth("dsprites", data_dir=data_dir, source="cache",
                                      factor_sizes=SMALL)
    assert data.origin == "rendered" and data.num_examples == N_SMALL
    images = all_images(data)
    assert images.shape == (N_SMALL, 64, 64, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[..., 0], expected)
    on_demand = data_lib.load_ground_truth("dsprites", source="render", factor_sizes=SMALL)
    np.testing.assert_array_equal(all_images(on_demand), images)


def test_data_dir_comes_from_the_argument_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDISVAE_DATA", str(tmp_path / "env"))
    assert data_lib.default_data_dir() == str(tmp_path / "env")
    assert data_lib.default_data_dir(tmp_path / "arg") == str(tmp_path / "arg")
    monkeypatch.delenv("TFDISVAE_DATA")
    assert data_lib.default_data_dir() == os.path.expanduser("~/.cache/tfdisvae")
    monkeypatch.setenv("TFDISVAE_DATA", str(tmp_path))
    data = data_lib.load_ground_truth("dsprites", source="auto", factor_sizes=SMALL)
    assert os.path.isdir(dsprites.rendered_cache_dir(tmp_path, SMALL)) and data.num_examples == N_SMALL


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "drop_manifest"])
def test_damaged_cache_is_detected_and_rendered_again(rendered, damage, caplog):
    data_dir, folder = rendered
    imgs = os.path.join(folder, "imgs.npy")
    good = np.load(imgs)
    if damage == "flip_byte":
        with open(imgs, "r+b") as f:
            f.seek(os.path.getsize(imgs) - 1000)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        reason = "sha256"
    elif damage == "truncate":
        with open(imgs, "r+b") as f:
            f.truncate(os.path.getsize(imgs) - 512)
        reason = "truncated"
    else:
        os.remove(os.path.join(folder, "manifest.json"))
        reason = "no manifest.json"
    assert reason in cache_lib.verify(folder)
    with caplog.at_level(logging.WARNING, logger="tfdisvae.data"):
        data = data_lib.load_ground_truth("dsprites", data_dir=data_dir, factor_sizes=SMALL)
    assert any("rendering it again" in r.message for r in caplog.records)
    assert cache_lib.verify(folder) is None
    np.testing.assert_array_equal(np.load(imgs), good)
    np.testing.assert_array_equal(all_images(data)[..., 0], np.unpackbits(good, axis=-1))


def test_a_killed_render_leaves_no_cache(tmp_path, monkeypatch):
    calls = []

    def failing_render(classes, sizes):
        calls.append(len(classes))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-render")
        return np.ones((len(classes), 64, 64), np.uint8)

    monkeypatch.setattr(dsprites, "render", failing_render)
    with pytest.raises(KeyboardInterrupt):
        dsprites.build_cache(tmp_path, SMALL, chunk=100)
    assert len(calls) == 2
    assert os.listdir(tmp_path / "dsprites") == []  # neither the cache nor its temporary folder
    monkeypatch.undo()
    folder = dsprites.build_cache(tmp_path, SMALL)
    assert cache_lib.verify(folder) is None


def test_a_cache_of_an_older_renderer_is_never_reused(tmp_path, monkeypatch, caplog):
    # A cache written by renderer version 1 (here: blank images) must not feed a version-2 loader.
    monkeypatch.setattr(dsprites, "RENDERER_VERSION", 1)
    monkeypatch.setattr(dsprites, "render", lambda classes, sizes: np.zeros((len(classes), 64, 64), np.uint8))
    old = dsprites.build_cache(tmp_path, SMALL)
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING, logger="tfdisvae.data"):
        data = dsprites.load_dsprites(tmp_path, source="cache", factor_sizes=SMALL)
    np.testing.assert_array_equal(all_images(data)[..., 0], dsprites.render(dsprites.grid_classes(SMALL), SMALL))
    assert os.path.isdir(old)  # left in place (nothing is deleted), and named in one line
    assert any(old in r.getMessage() and "no longer used" in r.getMessage() for r in caplog.records)


def test_a_verified_cache_is_reused_not_rewritten(rendered):
    data_dir, folder = rendered
    stamp = os.stat(os.path.join(folder, "imgs.npy")).st_mtime_ns
    assert dsprites.build_cache(data_dir, SMALL) == folder
    assert os.stat(os.path.join(folder, "imgs.npy")).st_mtime_ns == stamp


def test_write_npz_is_the_original_format(rendered, tmp_path):
    data_dir, _ = rendered
    path = dsprites.write_npz(str(tmp_path / "out.npz"), data_dir, factor_sizes=SMALL, chunk=100)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["imgs.npy", "latents_classes.npy",
                                              "latents_values.npy"]
    with np.load(path) as npz:
        imgs, values, classes = npz["imgs"], npz["latents_values"], npz["latents_classes"]
    assert imgs.shape == (N_SMALL, 64, 64) and imgs.dtype == np.uint8
    np.testing.assert_array_equal(imgs, dsprites.render(dsprites.grid_classes(SMALL), SMALL))
    expected_values, expected_classes = dsprites.latents_arrays(SMALL)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(classes, expected_classes)
    assert values.dtype == np.float64 and classes.dtype == np.int64
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]


def write_original(folder, kind, images, values, classes):
    os.makedirs(folder, exist_ok=True)
    if kind == "npz":
        path = os.path.join(folder, dsprites.ORIGINAL_FILES[0])
        np.savez_compressed(path, imgs=images, latents_values=values, latents_classes=classes)
    else:  # the layout TFDS's dsprites builder reads
        path = os.path.join(folder, dsprites.ORIGINAL_FILES[1])
        with h5py.File(path, "w") as h5:
            h5["imgs"] = images
            h5["latents/values"] = values
            h5["latents/classes"] = classes
    return path


@pytest.mark.parametrize("kind", ["npz", "hdf5"])
def test_an_original_file_is_used_unchanged(tmp_path, kind):
    values, classes = dsprites.latents_arrays(SMALL)
    # Different pixels from the renderer's, so the test sees which one is served.
    images = np.random.default_rng(0).integers(0, 2, size=(N_SMALL, 64, 64), dtype=np.uint8)
    path = write_original(tmp_path / "dsprites", kind, images, values, classes)
    before = (sha256(path), os.stat(path).st_mtime_ns)
    assert dsprites.find_original(tmp_path) == path
    data = data_lib.load_ground_truth("dsprites", data_dir=tmp_path, source="original",
                                      factor_sizes=SMALL)
    assert data.origin == path
    np.testing.assert_array_equal(all_images(data)[..., 0], images)
    assert (sha256(path), os.stat(path).st_mtime_ns) == before
    derived = os.path.join(tmp_path, "dsprites", "from-original-3x2x3x4x4")
    assert cache_lib.verify(derived) is None
    stamp = os.stat(os.path.join(derived, "imgs.npy")).st_mtime_ns
    again = data_lib.load_ground_truth("dsprites", data_dir=tmp_path, source="original",
                                       factor_sizes=SMALL)
    assert os.stat(os.path.join(derived, "imgs.npy")).st_mtime_ns == stamp  # reused
    np.testing.assert_array_equal(all_images(again)[..., 0], images)


def test_an_original_file_with_the_wrong_grid_is_refused(tmp_path):
    values, classes = dsprites.latents_arrays(SMALL)
    classes = classes[::-1].copy()
    images = np.zeros((N_SMALL, 64, 64), np.uint8)
    path = write_original(tmp_path, "npz", images, values, classes)
    with pytest.raises(ValueError, match="not the row-major dSprites grid") as err:
        data_lib.load_ground_truth("dsprites", data_dir=tmp_path, source="original",
                                   factor_sizes=SMALL)
    assert path in str(err.value)


def test_missing_original_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"):
        data_lib.load_ground_truth("dsprites", data_dir=tmp_path, source="original")
