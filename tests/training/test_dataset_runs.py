"""The new data sets through the real training path: train.py's flags -> TrainConfig -> load_dataset ->
train, two steps each; a missing set stops train.py with one line."""

import functools
import json

import numpy as np
import pytest

from tfdisvae.cli import train as cli
from tfdisvae.data import public_files

SMOKE_FLAGS = ["--latent_dim=2", "--batch_size=8", "--steps=2", "--checkpoint_every=2",
               "--summary_every=1", "--image_every=0", "--verbose=0", "--jit_compile=false"]


@pytest.fixture
def run_train(capsys):
    def run(*argv):
        cli.FLAGS.unparse_flags()
        cli.FLAGS(["train.py", *argv])
        try:
            cli.main(["train.py"])
        finally:
            cli.FLAGS.unparse_flags()
        return capsys.readouterr()

    return run


def _config_of(run_dir):
    with open(run_dir / "config.json") as f:
        return json.load(f)


def test_color_dsprites_trains_from_train_py(tmp_path, run_train):
    run_dir = tmp_path / "run"
    out = run_train("--dataset=color_dsprites", "--data_source=render", f"--run_dir={run_dir}",
                    f"--data_dir={tmp_path}", *SMOKE_FLAGS)
    assert f"run directory: {run_dir}" in out.out
    config = _config_of(run_dir)
    assert config["dataset"] == "color_dsprites" and config["dataset_size"] == 737_280
    assert config["image_shape"] == [64, 64, 3]
    assert (run_dir / "checkpoints" / "ckpt-2.index").is_file()


def test_mpi3d_trains_from_its_npz(tmp_path, run_train, monkeypatch):
    sizes = (2, 2, 1, 1, 1, 2, 4)  # a reduced grid; the loader is the real one, its default grid smaller
    monkeypatch.setattr(public_files, "load_mpi3d",
                        functools.partial(public_files.load_mpi3d, factor_sizes=sizes))
    images = np.random.default_rng(0).integers(0, 256, size=(32, 64, 64, 3), dtype=np.uint8)
    np.savez(tmp_path / "mpi3d_toy.npz", images=images)
    run_dir = tmp_path / "run"
    run_train("--dataset=mpi3d_toy", f"--data_dir={tmp_path}", f"--run_dir={run_dir}", *SMOKE_FLAGS)
    config = _config_of(run_dir)
    assert config["dataset"] == "mpi3d_toy" and config["dataset_size"] == 32
    assert config["image_shape"] == [64, 64, 3]
    assert (run_dir / "checkpoints" / "ckpt-2.index").is_file()


@pytest.mark.parametrize("dataset, says", [("cars3d", "nips2015-analogy-data.tar.gz"),
                                           ("mpi3d_real", "mpi3d_real.npz"),
                                           ("scream_dsprites", "scream.jpg")])
def test_missing_data_stops_train_py_with_one_line(tmp_path, run_train, capsys, dataset, says):
    with pytest.raises(SystemExit) as exit_info:
        run_train(f"--dataset={dataset}", f"--data_dir={tmp_path}", f"--run_dir={tmp_path / 'r'}",
                  *SMOKE_FLAGS)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train.py: error: ") and says in err[0]
    assert str(tmp_path) in err[0] and not (tmp_path / "r").exists()
