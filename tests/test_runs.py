"""A damaged newest checkpoint (truncated data file, missing index, other shapes, a broken state file) is
moved aside as ckpt-N.corrupt with one warning line, and training resumes from the newest checkpoint that
restores, ending at the weights of an uninterrupted run. When none restores: one error naming the folder,
and nothing is moved. Nothing is ever deleted."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import runs
from tfdisvae.config import TrainConfig
from tfdisvae.models import make_model
from tfdisvae.training import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = dict(model="beta_vae_h", dataset="dsprites", data_source="render", train_subset=64,
                latent_dim=4, batch_size=8, checkpoint_every=10, summary_every=10, image_every=0,
                verbose=0, seed=5)


def _config(run_dir, steps):
    return TrainConfig.create(run_dir=str(run_dir), steps=steps, **SETTINGS)


def _weights(run_dir):
    model, _ = runs.load_run(str(run_dir))
    return int(model.optimizer.iterations), [v.numpy() for v in model.weights]


def _files(run_dir):
    folder = runs.checkpoint_dir(str(run_dir))
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def _listed(run_dir):
    state = tf.train.get_checkpoint_state(runs.checkpoint_dir(str(run_dir)))
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths]


@pytest.fixture(scope="module")
def runs_at_20_and_30(tmp_path_factory):
    """An uninterrupted 30-step run and a 20-step run (ckpt-10, ckpt-20) to damage copies of."""
    base = tmp_path_factory.mktemp("fallback")
    train(_config(base / "full", 30), log=lambda *_: None)
    train(_config(base / "at20", 20), log=lambda *_: None)
    return base / "full", base / "at20"


def _truncate_data(folder):
    data = os.path.join(folder, "ckpt-20.data-00000-of-00001")
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)


def _remove_index(folder):
    os.remove(os.path.join(folder, "ckpt-20.index"))


def _other_shapes(folder):
    # A checkpoint of the same method with latent_dim 5: same variable names, other shapes.
    config = TrainConfig.create(**{**SETTINGS, "latent_dim": 5}, steps=20).resolved((64, 64, 1), 64)
    model = make_model(config)
    model.compile(**runs.optimizers_of(config))
    other = runs.make_checkpoint(model).write(os.path.join(folder, "other"))
    for name in os.listdir(folder):
        if name.startswith("ckpt-20."):
            os.remove(os.path.join(folder, name))
    for name in os.listdir(folder):
        if name.startswith("other."):
            os.replace(os.path.join(folder, name),
                       os.path.join(folder, name.replace("other", "ckpt-20", 1)))
    assert other.endswith("other")


@pytest.mark.parametrize("damage", [_truncate_data, _remove_index, _other_shapes])
def test_damaged_newest_checkpoint_is_moved_aside_and_training_resumes(runs_at_20_and_30, damage,
                                                                       tmp_path):
    full_dir, at20 = runs_at_20_and_30
    run_dir = tmp_path / "run"
    shutil.copytree(at20, run_dir)
    folder = runs.checkpoint_dir(str(run_dir))
    damage(folder)
    damaged = sorted(n for n in os.listdir(folder) if n.startswith("ckpt-20."))
    messages = []
    train(_config(run_dir, 30), log=messages.append)
    warnings = [m for m in messages if m.startswith("warning")]
    assert len(warnings) == 1, messages
    assert "checkpoint ckpt-20 does not restore" in warnings[0]
    assert os.path.join(folder, "ckpt-20.corrupt") in warnings[0]
    assert "resuming from ckpt-10" in warnings[0]
    assert any(m.startswith("resuming from step 10") for m in messages)
    # Moved, not deleted: every damaged file is in ckpt-20.corrupt/.
    assert sorted(os.listdir(os.path.join(folder, "ckpt-20.corrupt"))) == damaged
    # The state file lists what is on disk; step 20 was trained again and saved anew.
    assert _listed(run_dir) == ["ckpt-10", "ckpt-20", "ckpt-30"]
    step, resumed = _weights(run_dir)
    full_step, full = _weights(full_dir)
    assert step == full_step == 30
    for a, b in zip(full, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_broken_state_file_is_kept_and_checkpoints_are_found_on_disk(runs_at_20_and_30, tmp_path):
    full_dir, at20 = runs_at_20_and_30
    run_dir = tmp_path / "run"
    shutil.copytree(at20, run_dir)
    state = os.path.join(runs.checkpoint_dir(str(run_dir)), "checkpoint")
    open(state, "w").close()  # a state file cut to zero bytes
    messages = []
    train(_config(run_dir, 30), log=messages.append)
    assert any(m.startswith("resuming from step 20") for m in messages), messages
    assert os.path.getsize(state + ".corrupt") == 0
    assert _listed(run_dir)[-1] == "ckpt-30"
    for a, b in zip(_weights(full_dir)[1], _weights(run_dir)[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_checkpoint_restores_is_one_error_naming_the_folder(runs_at_20_and_30, tmp_path):
    _, at20 = runs_at_20_and_30
    run_dir = tmp_path / "run"
    shutil.copytree(at20, run_dir)
    folder = runs.checkpoint_dir(str(run_dir))
    for name in os.listdir(folder):
        if ".data-" in name:
            with open(os.path.join(folder, name), "r+b") as handle:
                handle.truncate(10)
    before = _files(run_dir)
    with pytest.raises(runs.CheckpointError, match=rf"no checkpoint in {folder} restores \(ckpt-20: .*"
                                                   r"ckpt-10: .*\); move that folder aside"):
        train(_config(run_dir, 30), log=lambda *_: None)
    assert _files(run_dir) == before


def _cli(run_dir, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, os.path.join(ROOT, "train.py"), f"--run_dir={run_dir}", "--steps=30",
               *(f"--{k}={v}" for k, v in SETTINGS.items())]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_command_line_warns_once_then_fails_in_one_line(runs_at_20_and_30, tmp_path, own_stderr_lines):
    _, at20 = runs_at_20_and_30
    run_dir = tmp_path / "run"
    shutil.copytree(at20, run_dir)
    folder = runs.checkpoint_dir(str(run_dir))
    _truncate_data(folder)  # today's main: IndexError: Read less bytes than requested
    done = _cli(run_dir, str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout.splitlines()
    assert sum(line.startswith("warning") for line in out) == 1, done.stdout
    assert "resuming from step 10" in done.stdout and "Traceback" not in done.stderr
    # Now damage every checkpoint: one line on stderr, exit 2.
    for name in os.listdir(folder):
        if name.endswith(".index"):
            with open(os.path.join(folder, name), "r+b") as handle:
                handle.truncate(5)
    failed = _cli(run_dir, str(tmp_path))
    assert failed.returncode == 2, failed.stderr[-3000:]
    lines = own_stderr_lines(failed.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"train.py: error: no checkpoint in {folder}"), lines
