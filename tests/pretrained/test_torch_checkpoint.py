"""read_torch_checkpoint on files this test writes itself (no torch): both formats, every admitted
dtype, strided and offset tensors, shared storages, big-endian storages — and refusal of any pickle
that names another global."""

import collections
import zipfile

import numpy as np
import pytest
from pretrained_torchfile import (
    WRITERS,
    Global,
    Reduce,
    Storage,
    Tensor,
    contiguous,
    write_legacy,
    write_zip,
)

from tfdisvae.pretrained.torch_checkpoint import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    read_torch_checkpoint,
)

FORMATS = sorted(WRITERS)


def _state(rng):
    return collections.OrderedDict([
        ("conv.weight", rng.standard_normal((4, 2, 3, 3)).astype(np.float32)),
        ("conv.bias", rng.standard_normal(4).astype(np.float32)),
        ("double", rng.standard_normal((2, 5))),
        ("half", rng.standard_normal(7).astype(np.float16)),
        ("steps", np.arange(-3, 9, dtype=np.int64)),
        ("int32", np.array([[1, -2], [3, 2**30]], np.int32)),
        ("int8", np.array([-128, 0, 127], np.int8)),
        ("uint8", np.array([0, 255], np.uint8)),
        ("mask", np.array([True, False, True])),
        ("scalar", np.array(2.5, np.float32)),
        ("empty", np.zeros((0, 3), np.float32)),
    ])


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_every_dtype(fmt, tmp_path):
    state = _state(np.random.default_rng(0))
    obj = collections.OrderedDict((k, contiguous(str(i), v)) for i, (k, v) in enumerate(state.items()))
    path = tmp_path / "model.pt"
    WRITERS[fmt](path, obj)
    loaded = read_torch_checkpoint(path)
    assert isinstance(loaded, collections.OrderedDict) and list(loaded) == list(state)
    for key, expected in state.items():
        assert loaded[key].dtype == expected.dtype and loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected)
        assert loaded[key].flags.owndata or loaded[key].base is None or loaded[key].size == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_strides_offsets_and_shared_storage(fmt, tmp_path):
    base = np.arange(60, dtype=np.float32) * 1.5
    storage = Storage("7", base)
    obj = {
        # a transpose: element [i, j] is storage[2 + i + 4 j]
        "transposed": Tensor(storage, 2, (4, 3), (1, 4)),
        # every other row of a [6, 5] view starting at element 10
        "sliced": Tensor(storage, 10, (3, 5), (10, 1)),
        # a broadcast (stride 0), as expand() makes
        "expanded": Tensor(storage, 59, (2, 3), (0, 0)),
        "nested": [Tensor(storage, 0, (2,), (30,)), (Tensor(storage, 5, (), ()), "text", 3, None)],
    }
    path = tmp_path / "strided.pt"
    WRITERS[fmt](path, obj)
    loaded = read_torch_checkpoint(path)
    expected_t = np.array([[base[2 + i + 4 * j] for j in range(3)] for i in range(4)])
    np.testing.assert_array_equal(loaded["transposed"], expected_t)
    np.testing.assert_array_equal(loaded["sliced"], base[10:40].reshape(3, 10)[:, :5])
    np.testing.assert_array_equal(loaded["expanded"], np.full((2, 3), base[59]))
    first, (scalar, text, three, none) = loaded["nested"]
    np.testing.assert_array_equal(first, base[[0, 30]])
    assert scalar.shape == () and scalar == base[5] and (text, three, none) == ("text", 3, None)
    loaded["transposed"][0, 0] = -1.0  # arrays own their memory: writing one leaves the others
    assert loaded["sliced"][0, 0] == base[10]


def test_zip_big_endian_and_other_prefix(tmp_path):
    values = np.linspace(-2, 2, 12).astype(np.float32).reshape(3, 4)
    path = tmp_path / "be.pt"
    write_zip(path, {"w": contiguous("0", values), "n": contiguous("1", np.arange(3))},
              prefix="my_model", byteorder="big")
    loaded = read_torch_checkpoint(path)
    np.testing.assert_array_equal(loaded["w"], values)
    np.testing.assert_array_equal(loaded["n"], np.arange(3))


def test_bfloat16_becomes_float32_exactly(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 1e-3], np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)  # truncation: bfloat16 bit patterns
    path = tmp_path / "bf16.pt"
    write_zip(path, {"x": Tensor(Storage("0", bits, "BFloat16Storage"), 0, (4,), (1,))})
    loaded = read_torch_checkpoint(path)["x"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, (bits.astype(np.uint32) << 16).view(np.float32))


MALICIOUS = {
    "os.system": Reduce(Global("os", "system"), ("touch {marker}",)),
    "builtins.eval": Reduce(Global("builtins", "eval"), ("open({marker!r}, 'w')",)),
    "subprocess.Popen": Reduce(Global("subprocess", "Popen"), (["touch", "{marker}"],)),
    # a whole pickled model (torch.save(model)) names its classes: refused too
    "disvae.models.vae.VAE": Reduce(Global("disvae.models.vae", "VAE"), ()),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_pickles_naming_other_globals_are_refused(fmt, name, tmp_path):
    marker = tmp_path / "pwned"
    payload = MALICIOUS[name]
    payload = Reduce(payload.func, tuple(
        a.format(marker=str(marker)) if isinstance(a, str)
        else [x.format(marker=str(marker)) for x in a] if isinstance(a, list) else a
        for a in payload.args))
    path = tmp_path / "evil.pt"
    WRITERS[fmt](path, {"weight": contiguous("0", np.ones(2, np.float32)), "payload": payload})
    with pytest.raises(UnsafeCheckpointError, match=name.replace(".", r"\.")):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_storage_types_are_markers_not_callables(tmp_path):
    path = tmp_path / "call.pt"
    write_zip(path, {"x": Reduce(Global("torch", "FloatStorage"), (4,))})
    with pytest.raises(UnsafeCheckpointError, match="FloatStorage"):
        read_torch_checkpoint(path)


def test_legacy_header_with_a_global_is_refused(tmp_path):
    path = tmp_path / "header.pt"
    write_legacy(path, {"x": contiguous("0", np.ones(1, np.float32))})
    data = path.read_bytes()
    # replace the magic-number pickle by one that calls os.system
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
    start = data.index(b".") + 1
    path.write_bytes(evil + data[start:])
    with pytest.raises(UnsafeCheckpointError, match="os.system"):
        read_torch_checkpoint(path)


def test_damaged_and_foreign_files_are_clear_errors(tmp_path):
    path = tmp_path / "model.pt"
    write_legacy(path, {"x": contiguous("0", np.arange(100, dtype=np.float32))})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CheckpointFormatError, match="storage '0'"):
        read_torch_checkpoint(truncated)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointFormatError):
        read_torch_checkpoint(text)
    other_zip = tmp_path / "other.pt"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "no pickle here")
    with pytest.raises(CheckpointFormatError, match="data.pkl"):
        read_torch_checkpoint(other_zip)
    out_of_range = tmp_path / "range.pt"
    write_zip(out_of_range, {"x": Tensor(Storage("0", np.zeros(6, np.float32)), 4, (2, 2), (2, 1))})
    with pytest.raises(CheckpointFormatError, match="reaches element"):
        read_torch_checkpoint(out_of_range)
    with pytest.raises(FileNotFoundError):
        read_torch_checkpoint(tmp_path / "absent.pt")
