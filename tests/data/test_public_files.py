"""MPI3D, Cars3D and 3dshapes.h5 read from small files written here in the public formats (npz, MATLAB v5
.mat, HDF5) on reduced grids: every image comes back at the factor classes it was written for, and a
missing or damaged file fails with one line naming what to fetch and where to put it."""

import math

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

import tfdisvae.data as data_lib
from tfdisvae.data import public_files

MPI3D_SIZES = (2, 3, 1, 2, 1, 3, 2)  # 72 images
CARS_SIZES = (2, 3, 4)  # elevation, azimuth, object
SHAPES_SIZES = (2, 3, 2, 2, 1, 3)


def _coded_grid(sizes, rng):
    """uint8 [*sizes, 64, 64, 3] random images whose pixels (0, k, 0) hold the classes of factor k."""
    grid = rng.integers(0, 256, size=(*sizes, 64, 64, 3), dtype=np.uint8)
    classes = np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), axis=-1)
    grid[..., 0, :len(sizes), 0] = classes
    return grid


def _check_round_trip(data, sizes, written):
    """index_of inverts factors, and each image is the one written at its factor classes."""
    n = math.prod(sizes)
    assert data.factor_sizes == tuple(sizes) and data.num_examples == n
    assert data.image_shape == (64, 64, 3)
    idx = np.arange(n)
    classes = data.factors(idx)
    np.testing.assert_array_equal(data.index_of(classes), idx)
    images = data.images(idx)
    np.testing.assert_array_equal(images[:, 0, :len(sizes), 0], classes)
    np.testing.assert_array_equal(images, written.reshape(n, 64, 64, 3)[
        np.ravel_multi_index(classes.T, sizes)])
    sampled = data.sample_factors(40, seed=0)
    np.testing.assert_array_equal(data.images_of(sampled)[:, 0, :len(sizes), 0], sampled)
    (batch,) = list(data.as_dataset(5, shuffle=False, repeat=False).take(1))
    np.testing.assert_allclose(batch.numpy(), images[:5] / 255.0, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# MPI3D


def test_mpi3d_published_grid():
    assert public_files.MPI3D_FACTOR_SIZES == (6, 6, 2, 3, 3, 40, 40)
    assert math.prod(public_files.MPI3D_FACTOR_SIZES) == 1_036_800
    assert set(public_files.MPI3D_SETS) <= set(data_lib.GROUND_TRUTH)


@pytest.mark.parametrize("name, compressed, layout", [
    ("mpi3d_toy", False, "flat"),            # np.savez: memory-mapped inside the npz
    ("mpi3d_real", True, "grid"),            # np.savez_compressed: decompressed once into a cache
    ("mpi3d_realistic", False, "subfolder"),  # disentanglement_lib's NAME/NAME.npz
])
def test_mpi3d_reads_the_public_npz(tmp_path, name, compressed, layout):
    written = _coded_grid(MPI3D_SIZES, np.random.default_rng(0))
    folder = tmp_path / name if layout == "subfolder" else tmp_path
    folder.mkdir(exist_ok=True)
    array = written if layout == "grid" else written.reshape(-1, 64, 64, 3)
    (np.savez_compressed if compressed else np.savez)(folder / f"{name}.npz", images=array)
    data = data_lib.load_ground_truth(name, data_dir=tmp_path, factor_sizes=MPI3D_SIZES)
    assert data.name == name
    assert data.factor_names == ("object_color", "object_shape", "object_size", "camera_height",
                                 "background_color", "horizontal_axis", "vertical_axis")
    _check_round_trip(data, MPI3D_SIZES, written)
    assert (tmp_path / f"{name}-cache").exists() == compressed
    again = data_lib.load(name, data_dir=tmp_path, factor_sizes=MPI3D_SIZES)
    np.testing.assert_array_equal(again.images([0, 71]), data.images([0, 71]))


def test_mpi3d_missing_or_damaged_files_fail_with_one_line(tmp_path):
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        data_lib.load_ground_truth("mpi3d_toy", data_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "mpi3d_toy.npz") in message
    assert "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_toy.npz" in message

    written = _coded_grid(MPI3D_SIZES, np.random.default_rng(1)).reshape(-1, 64, 64, 3)
    path = tmp_path / "mpi3d_toy.npz"
    np.savez(path, images=written)
    with pytest.raises(data_lib.DataFileError, match="holds uint8 \\[1036800, 64, 64, 3\\]"):
        data_lib.load_ground_truth("mpi3d_toy", data_dir=tmp_path)  # the published grid: too few
    np.savez(path, imgs=written)
    with pytest.raises(data_lib.DataFileError, match="no array 'images'"):
        data_lib.load_ground_truth("mpi3d_toy", data_dir=tmp_path, factor_sizes=MPI3D_SIZES)
    np.savez(path, images=written)
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])  # a truncated download
    with pytest.raises(data_lib.DataFileError, match="fetch mpi3d_toy.npz from https://") as err:
        data_lib.load_ground_truth("mpi3d_toy", data_dir=tmp_path, factor_sizes=MPI3D_SIZES)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------------
# Cars3D


def _colour(elevation, azimuth, obj):
    return np.array([10 + 60 * elevation, 5 + 50 * azimuth, 7 + 40 * obj], np.uint8)


def _write_cars(folder, sizes=CARS_SIZES, rng=None):
    """One MATLAB v5 file per car, `im` uint8 [128, 128, 3, azimuth, elevation]; each view one colour
    except car 0, whose views are noise (to check the resizing)."""
    n_elevation, n_azimuth, n_object = sizes
    folder.mkdir(parents=True)
    numbers = [1, 4, 9, 13, 15, 22][:n_object]  # the public names skip numbers; name order decides
    meshes = []
    for k, number in enumerate(numbers):
        im = np.empty((128, 128, 3, n_azimuth, n_elevation), np.uint8)
        for a in range(n_azimuth):
            for e in range(n_elevation):
                im[:, :, :, a, e] = _colour(e, a, k)
        if k == 0 and rng is not None:
            im[:] = rng.integers(0, 256, size=im.shape, dtype=np.uint8)
        scipy.io.savemat(folder / f"car_{number:03d}_mesh.mat", {"im": im},
                         do_compression=bool(k % 2))
        meshes.append(im)
    (folder / "list.txt").write_text("\n".join(f"car_{n:03d}_mesh" for n in numbers))
    return meshes


def test_cars3d_published_grid():
    assert public_files.CARS3D_FACTOR_SIZES == (4, 24, 183)
    assert math.prod(public_files.CARS3D_FACTOR_SIZES) == 17_568


@pytest.mark.parametrize("layout", ["cars", "data/cars"])
def test_cars3d_reads_the_mesh_files(tmp_path, layout):
    meshes = _write_cars(tmp_path / layout, rng=np.random.default_rng(2))
    data = data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=CARS_SIZES)
    assert data.factor_names == ("elevation", "azimuth", "object")
    assert data.factor_sizes == CARS_SIZES and data.num_examples == 24
    assert data.image_shape == (64, 64, 3)
    idx = np.arange(24)
    classes = data.factors(idx)
    np.testing.assert_array_equal(data.index_of(classes), idx)
    np.testing.assert_array_equal(classes[:3], [[0, 0, 0], [0, 0, 1], [0, 0, 2]])  # row-major grid
    images = data.images(idx)
    for image, (e, a, k) in zip(images, classes, strict=True):
        if k == 0:  # resized 128 -> 64 with Lanczos, as disentanglement_lib's thumbnail(ANTIALIAS)
            view = Image.fromarray(meshes[0][:, :, :, a, e]).resize((64, 64), Image.LANCZOS)
            np.testing.assert_array_equal(image, np.asarray(view))
        else:
            assert np.all(image == _colour(e, a, k)), (e, a, k)
    (batch,) = list(data.as_dataset(4, shuffle=False, repeat=False).take(1))
    np.testing.assert_allclose(batch.numpy(), images[:4] / 255.0, rtol=1e-6)
    # The cache is keyed on the files: damaged ones are read again (and reported), not served stale.
    for path in (tmp_path / layout).glob("*.mat"):
        path.write_bytes(b"gone")
        path.touch()
    with pytest.raises(data_lib.DataFileError):  # the files changed: the cache is not trusted
        data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=CARS_SIZES)


def test_cars3d_cache_is_reused_while_the_files_are_unchanged(tmp_path, monkeypatch):
    _write_cars(tmp_path / "cars")
    first = data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=CARS_SIZES)
    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: pytest.fail("re-read a .mat file"))
    second = data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=CARS_SIZES)
    np.testing.assert_array_equal(second.images(np.arange(24)), first.images(np.arange(24)))


def test_cars3d_missing_or_damaged_files_fail_with_one_line(tmp_path):
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        data_lib.load_ground_truth("cars3d", data_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "nips2015-analogy-data.tar.gz" in message
    assert str(tmp_path / "cars") in message
    _write_cars(tmp_path / "cars")
    with pytest.raises(data_lib.DataFileError, match="holds 4 .mat files, Cars3D has 183"):
        data_lib.load_ground_truth("cars3d", data_dir=tmp_path)
    with pytest.raises(data_lib.DataFileError, match=r"im is uint8 \(128, 128, 3, 3, 2\)"):
        data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=(3, 2, 4))
    (tmp_path / "cars" / "car_004_mesh.mat").write_bytes(b"\0" * 300)
    with pytest.raises(data_lib.DataFileError, match="car_004_mesh.mat is not a readable .mat") as err:
        data_lib.load_ground_truth("cars3d", data_dir=tmp_path, factor_sizes=CARS_SIZES)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.glob("cars3d-cache*"))  # nothing half-made is left


# --------------------------------------------------------------------------------------------------
# shapes3d from 3dshapes.h5


def _shapes_values(sizes):
    full = [np.linspace(0, 0.9, 10), np.linspace(0, 0.9, 10), np.linspace(0, 0.9, 10),
            np.linspace(0.75, 1.25, 8), np.arange(4.0), np.linspace(-30, 30, 15)]
    return [values[:size] for values, size in zip(full, sizes, strict=True)]


def _write_h5(path, sizes, order=None, **dataset_options):
    written = _coded_grid(sizes, np.random.default_rng(4)).reshape(-1, 64, 64, 3)
    classes = np.stack(np.unravel_index(np.arange(len(written)), sizes), axis=1)
    values = _shapes_values(sizes)
    labels = np.stack([values[k][classes[:, k]] for k in range(6)], axis=1)
    if order is not None:
        written, labels = written[order], labels[order]
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("images", data=written, **dataset_options)
        h5.create_dataset("labels", data=labels)
    return written


def test_shapes3d_published_grid():
    assert public_files.SHAPES3D_FACTOR_SIZES == (10, 10, 10, 8, 4, 15)
    assert math.prod(public_files.SHAPES3D_FACTOR_SIZES) == 480_000


@pytest.mark.parametrize("where, options", [
    ("3dshapes.h5", {}),                                           # contiguous: memory-mapped
    ("3dshapes/3dshapes.h5", {"chunks": (8, 64, 64, 3), "compression": "gzip"}),  # copied once
])
def test_shapes3d_reads_3dshapes_h5(tmp_path, where, options):
    written = _write_h5(tmp_path / where, SHAPES_SIZES, **options)
    data = data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, factor_sizes=SHAPES_SIZES)
    assert data.factor_names == ("floor_hue", "wall_hue", "object_hue", "scale", "shape",
                                 "orientation")
    assert data.complete_grid  # the file stores the grid row-major
    _check_round_trip(data, SHAPES_SIZES, written)
    np.testing.assert_allclose(data.factors_to_values([[1, 2, 1, 1, 0, 2]]),
                               [[0.1, 0.2, 0.1, 0.75 + 0.5 / 7, 0.0, -30 + 2 * 60 / 14]])
    assert (tmp_path / "3dshapes-cache").exists() == bool(options)
    # source="file" insists on the file; source="tfds" ignores it and asks TFDS (not prepared here).
    assert data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, source="file",
                                      factor_sizes=SHAPES_SIZES).num_examples == 72
    with pytest.raises(data_lib.DatasetNotPreparedError, match="tfds build shapes3d"):
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, source="tfds")


def test_shapes3d_without_file_or_tfds_names_both(tmp_path):
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "tfds build shapes3d" in message
    assert f"put it at {tmp_path / '3dshapes.h5'}" in message


def test_shapes3d_in_another_order_keeps_each_images_labels(tmp_path):
    order = np.random.default_rng(5).permutation(math.prod(SHAPES_SIZES))
    written = _write_h5(tmp_path / "3dshapes.h5", SHAPES_SIZES, order=order)
    data = data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, factor_sizes=SHAPES_SIZES)
    assert not data.complete_grid
    idx = np.arange(len(order))
    np.testing.assert_array_equal(data.index_of(data.factors(idx)), idx)
    np.testing.assert_array_equal(data.images(idx), written)
    sampled = data.sample_factors(30, seed=2)
    np.testing.assert_array_equal(data.images_of(sampled)[:, 0, :6, 0], sampled)


def test_shapes3d_missing_or_damaged_file_fails_with_one_line(tmp_path):
    with pytest.raises(data_lib.DatasetNotPreparedError) as err:
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, source="file")
    message = str(err.value)
    assert "\n" not in message and "https://storage.googleapis.com/3d-shapes/3dshapes.h5" in message
    assert str(tmp_path / "3dshapes.h5") in message
    _write_h5(tmp_path / "3dshapes.h5", SHAPES_SIZES)
    with pytest.raises(data_lib.DataFileError, match=r"uint8 \[480000, 64, 64, 3\]"):
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path)
    with pytest.raises(data_lib.DataFileError, match="column 4 \\(shape\\) takes 1 values, shapes3d has 3"):
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, factor_sizes=(2, 3, 2, 2, 3, 1))
    path = tmp_path / "3dshapes.h5"
    path.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(data_lib.DataFileError, match="fetch 3dshapes.h5 from https://"):
        data_lib.load_ground_truth("shapes3d", data_dir=tmp_path, factor_sizes=SHAPES_SIZES)
