"""kill -9 during `python train.py ...`, then the same command again: it resumes from the last checkpoint
(one kill, and the chaos test: five kills at seeded random moments, bit-identical end)."""

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


# ------------------------------------------------------------------------------------------ chaos
# Five SIGKILLs at seeded random moments (during steps, inside a checkpoint write, inside a summary
# write), the same command again after each: the final weights are bit-identical to an uninterrupted
# run's, and TensorBoard's reader (the server's plugin_event_accumulator, which applies the
# SessionLog.START markers a resumed run writes; see tfdisvae.runs.mark_session_start) sees every step once,
# with the uninterrupted value. The legacy event_accumulator does not purge tensor summaries: with it,
# the value of a step is the last one in file order (a dict {step: value} built in order).

CHAOS_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chaos_child.py")
CHAOS_STEPS, CHAOS_EVERY = 60, 5
CHAOS_DELAYS_MS = {"step": (0.0, 60.0), "checkpoint": (20.0, 150.0), "summary": (0.0, 1.0)}


def chaos_command(run_dir, steps=CHAOS_STEPS):
    return [sys.executable, CHAOS_CHILD, "--model=beta_vae_h", "--dataset=dsprites",
            "--data_source=render", "--train_subset=64", "--latent_dim=4", "--batch_size=8",
            f"--steps={steps}", f"--checkpoint_every={CHAOS_EVERY}", "--summary_every=1",
            "--image_every=0", f"--run_dir={run_dir}", "--verbose=0", "--seed=11"]


def chaos_schedule(seed, kills, steps=CHAOS_STEPS):
    """[(kind, step, delay_ms)]: every kind at least once (when kills >= 3), in a seeded random order.

    Kill i is armed at step 2·every·(i+1) (plus 0..every-1 for a kill during steps), so it comes after
    the checkpoint the previous kill left; the delay after arming is drawn per kind."""
    import numpy as np

    if 2 * CHAOS_EVERY * kills + CHAOS_EVERY > steps:
        raise ValueError(f"{kills} kills need at least {2 * CHAOS_EVERY * kills + CHAOS_EVERY} steps")
    rng = np.random.default_rng(seed)
    kinds = ["step", "checkpoint", "summary"][:min(kills, 3)]
    kinds += [str(k) for k in rng.choice(["step", "checkpoint", "summary"], kills - len(kinds))]
    rng.shuffle(kinds)
    schedule = []
    for i, kind in enumerate(kinds):
        step = 2 * CHAOS_EVERY * (i + 1) + (int(rng.integers(0, CHAOS_EVERY)) if kind == "step" else 0)
        low, high = CHAOS_DELAYS_MS[kind]
        schedule.append((kind, step, round(float(rng.uniform(low, high)), 2)))
    return schedule


def chaos_run(run_dir, schedule, cwd, timeout=300, progress=None):
    """Run the command once per kill of `schedule` (each must die by SIGKILL), then to the end.
    Returns [(kind, step, delay_ms, started_from, reached, kept, mid_checkpoint_write)]: the step the
    process started from, the last step it logged, the newest checkpoint it left, whether it died inside
    a checkpoint write (a ckpt-N_temp folder is left)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    report = []
    for kind, step, delay in schedule:
        started = max(_checkpoint_steps(run_dir), default=0)
        before = _unfinished_saves(run_dir)
        proc = subprocess.run(chaos_command(run_dir), env={**env, "TFDISVAE_CHAOS": f"{kind}:{step}:{delay}"},
                              capture_output=True, text=True, cwd=cwd, timeout=timeout)
        assert proc.returncode == -signal.SIGKILL, (kind, step, proc.returncode, proc.stderr[-3000:])
        mid_write = bool(_unfinished_saves(run_dir) - before)
        reached = max(_scalar_steps(run_dir, purge=False), default=0)
        kept = max(_checkpoint_steps(run_dir), default=0)
        report.append((kind, step, delay, started, reached, kept, mid_write))
        if progress is not None:
            progress(report[-1])
    final = subprocess.run(chaos_command(run_dir), env=env, capture_output=True, text=True, cwd=cwd,
                           timeout=timeout)
    assert final.returncode == 0, final.stderr[-3000:]
    return report


def _unfinished_saves(run_dir):
    """Names in the checkpoint folder that a save killed mid-write leaves (ckpt-N_temp/, *.tempstate*)."""
    folder = os.path.join(run_dir, "checkpoints")
    return {n for n in os.listdir(folder) if "temp" in n} if os.path.isdir(folder) else set()


def _scalars(run_dir, tag="loss/loss", purge=True):
    """[(step, value)] of a tag as TensorBoard's server reads it (plugin_event_accumulator)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import plugin_event_accumulator

    acc = plugin_event_accumulator.EventAccumulator(os.path.join(run_dir, "logs", "train"),
                                                    tensor_size_guidance={"scalars": 0},
                                                    purge_orphaned_data=purge)
    acc.Reload()
    if tag not in acc.Tags()["tensors"]:
        return []
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]


def _last_per_step(run_dir, tag="loss/loss"):
    """{step: value} with the legacy EventAccumulator, the last value of each step in file order."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(os.path.join(run_dir, "logs", "train"), size_guidance={"tensors": 0})
    acc.Reload()
    return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}


def _scalar_steps(run_dir, purge=True):
    return [step for step, _ in _scalars(run_dir, purge=purge)]


def _final_weights(run_dir):
    from tfdisvae import runs

    model, _ = runs.load_run(run_dir)
    return int(model.optimizer.iterations), [v.numpy() for v in model.weights]


@pytest.mark.slow
def test_chaos_five_kills_end_bit_identical(tmp_path):
    import numpy as np

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    full_dir = str(tmp_path / "full")
    full = subprocess.run(chaos_command(full_dir), env=env, capture_output=True, text=True,
                          cwd=str(tmp_path), timeout=300)
    assert full.returncode == 0, full.stderr[-3000:]
    schedule = chaos_schedule(seed=2026, kills=5)
    assert {kind for kind, _, _ in schedule} == {"step", "checkpoint", "summary"}
    run_dir = str(tmp_path / "chaos")
    report = chaos_run(run_dir, schedule, str(tmp_path))
    print("\nchaos kills (kind, step, delay ms, started from, reached, kept, mid checkpoint write):")
    for row in report:
        print("  ", row)
    for _, step, _, started, reached, kept, _ in report:
        assert started < step <= reached + 1  # the kill came at the moment it was armed for
        assert reached - kept <= CHAOS_EVERY  # it lost at most the steps since the last checkpoint

    # A save killed mid-write leaves ckpt-N_temp/; the next run removes it.
    assert _unfinished_saves(run_dir) == set()
    step, weights = _final_weights(run_dir)
    full_step, full_weights = _final_weights(full_dir)
    assert step == full_step == CHAOS_STEPS
    for a, b in zip(full_weights, weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # TensorBoard: every step once, equal to the uninterrupted run's value.
    assert _scalars(run_dir) == _scalars(full_dir)
    assert _scalar_steps(run_dir) == list(range(1, CHAOS_STEPS + 1))
    assert _last_per_step(run_dir) == dict(_scalars(full_dir))
    # Without the restart rule the reader would see the killed processes' extra steps twice.
    raw = _scalar_steps(run_dir, purge=False)
    assert len(raw) > len(set(raw)) == CHAOS_STEPS
