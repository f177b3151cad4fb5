"""train.py ends every failure of its surroundings with one line on stderr naming the problem and the fix,
exit code 2, and keeps what was written before: a TFDS data set that is not prepared, a run directory that
cannot be used, a damaged dSprites file, a full disk (a file-size limit, RLIMIT_FSIZE, in the child)."""

import os
import resource
import subprocess
import sys

import pytest

from tfdisvae import runs
from tfdisvae.config import TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ("--model=beta_vae_h", "--latent_dim=4", "--batch_size=8", "--checkpoint_every=10",
        "--summary_every=5", "--image_every=0", "--verbose=0", "--seed=5")
RENDER = ("--dataset=dsprites", "--data_source=render", "--train_subset=64")


def _start(args, cwd, file_size_limit=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"), *TINY, *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=limit if file_size_limit else None)


def _finish(proc):
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def bad_surroundings(tmp_path_factory):
    """Four failing commands, run concurrently: {case: (returncode, stdout, stderr, folder)}."""
    root = tmp_path_factory.mktemp("errors")
    cases = {}
    empty = root / "no_tfds"
    empty.mkdir()
    cases["tfds"] = (["--dataset=shapes3d", f"--data_dir={empty}", "--steps=5",
                      f"--run_dir={root / 'run_tfds'}"], empty)
    a_file = root / "a_file"
    a_file.write_text("not a run\n")
    cases["run_dir_file"] = ([*RENDER, "--steps=5", f"--run_dir={a_file}"], a_file)
    broken = root / "broken_config"
    broken.mkdir()
    (broken / "config.json").write_text('{"model": "beta_vae_h", "steps": ')
    cases["config"] = ([*RENDER, "--steps=5", f"--run_dir={broken}"], broken)
    dsprites = root / "dsprites_data"
    dsprites.mkdir()
    (dsprites / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz").write_bytes(b"PK\x03\x04" + b"\0" * 500)
    cases["dsprites"] = (["--dataset=dsprites", f"--data_dir={dsprites}", "--train_subset=64",
                          "--steps=5", f"--run_dir={root / 'run_dsprites'}"], dsprites)
    procs = {name: _start(args, str(root)) for name, (args, _) in cases.items()}
    return {name: (*_finish(proc), cases[name][1]) for name, proc in procs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case, problem, fix", [
    ("tfds", "data set 'shapes3d' is not prepared in", "tfds build shapes3d"),
    ("run_dir_file", "is a file, not a directory", "give another --run_dir"),
    ("config", "config.json cannot be read (JSONDecodeError", "give another --run_dir"),
    ("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz cannot be read (BadZipFile",
     "--data_source=render"),
])
def test_one_line_names_the_problem_and_the_fix(bad_surroundings, own_stderr_lines, case, problem,
                                                fix):
    code, out, err, folder = bad_surroundings[case]
    lines = own_stderr_lines(err)
    assert code == 2, err[-3000:]
    assert len(lines) == 1 and lines[0].startswith("train.py: error: "), lines
    assert problem in lines[0] and fix in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.slow
def test_bad_surroundings_are_left_as_they_were(bad_surroundings):
    assert (bad_surroundings["run_dir_file"][3]).read_text() == "not a run\n"
    broken = bad_surroundings["config"][3]
    assert sorted(os.listdir(broken)) == ["config.json"]
    assert (broken / "config.json").read_text() == '{"model": "beta_vae_h", "steps": '
    assert sorted(os.listdir(bad_surroundings["dsprites"][3])) == [
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"]


def _snapshot(run_dir):
    return {os.path.relpath(os.path.join(d, f), run_dir): open(os.path.join(d, f), "rb").read()
            for d, _, fs in os.walk(run_dir) for f in fs}


@pytest.mark.slow
def test_full_disk_is_one_line_and_loses_nothing(tmp_path, own_stderr_lines):
    run_dir = tmp_path / "run"
    code, out, err = _finish(_start([*RENDER, "--steps=20", f"--run_dir={run_dir}"], str(tmp_path)))
    assert code == 0, err[-3000:]
    before = _snapshot(run_dir)
    # A 1 MB file-size limit: config.json and the events file fit, a checkpoint (~6 MB) does not.
    code, out, err = _finish(_start([*RENDER, "--steps=40", f"--run_dir={run_dir}"], str(tmp_path),
                                    file_size_limit=1_000_000))
    lines = own_stderr_lines(err)
    assert code == 2, err[-3000:]
    assert len(lines) == 1, lines
    assert lines[0].startswith("train.py: error: out of disk space writing checkpoint ckpt-30 in "
                               f"{runs.checkpoint_dir(str(run_dir))} (File too large)"), lines[0]
    assert "free space there" in lines[0] and "run the same command again" in lines[0]
    after = _snapshot(run_dir)
    # Everything written before is there, byte for byte (config.json now records --steps=40); the
    # failed checkpoint left no temporary folder.
    assert {k: v for k, v in after.items() if k in before and k != "config.json"} == {
        k: v for k, v in before.items() if k != "config.json"}
    assert TrainConfig.from_json(str(run_dir / "config.json")).steps == 40
    new = sorted(set(after) - set(before))
    # Only the second run's events: its session-start marker and its events file.
    assert len(new) == 2 and new[0].endswith(".restart") and new[1].endswith(".v2"), new
    assert all(n.startswith(os.path.join("logs", "train", "events.out.tfevents")) for n in new), new
    model, _ = runs.load_run(str(run_dir))
    assert int(model.optimizer.iterations) == 20
