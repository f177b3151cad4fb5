"""kill -9 during `python train.py ...`, then the same command again: it resumes from the last checkpoint."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVERY = 10
STEPS = 80


def _command(run_dir):
    return [sys.executable, os.path.join(ROOT, "train.py"), "--model=beta_vae_h", "--dataset=dsprites",
            "--data_source=render", "--train_subset=128", "--latent_dim=4", "--batch_size=16",
            f"--steps={STEPS}", f"--checkpoint_every={EVERY}", "--summary_every=10",
            "--image_every=0", f"--run_dir={run_dir}", "--verbose=2", "--seed=3"]


def _checkpoint_steps(run_dir):
    folder = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(folder):
        return []
    return sorted(int(m.group(1)) for name in os.listdir(folder)
                  if (m := re.fullmatch(r"ckpt-(\d+)\.index", name)))


@pytest.mark.slow
def test_kill_9_then_same_command_resumes(tmp_path):
    run_dir = str(tmp_path / "run")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen(_command(run_dir), stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=str(tmp_path))
        deadline = time.time() + 240
        while time.time() < deadline and first.poll() is None:
            if _checkpoint_steps(run_dir) and max(_checkpoint_steps(run_dir)) >= 2 * EVERY:
                break
            time.sleep(0.2)
        assert first.poll() is None, "the first run ended before it could be killed:\n" + \
            log_path.read_text()[-2000:]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    printed = [int(s) for s in re.findall(r"^step (\d+)/", log_path.read_text(), re.M)]
    kept = max(_checkpoint_steps(run_dir))
    assert kept >= 2 * EVERY
    assert kept >= max(printed, default=0) - EVERY  # at most one checkpoint interval lost

    second = subprocess.run(_command(run_dir), capture_output=True, text=True, env=env,
                            cwd=str(tmp_path), timeout=300)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"resuming from step {kept}" in second.stdout
    assert f"training steps {kept} -> {STEPS}" in second.stdout
    assert max(_checkpoint_steps(run_dir)) == STEPS
    assert f"run directory: {run_dir}" in second.stdout
