"""Chaos soak: one training run SIGKILLed N times at seeded random moments (during steps, inside checkpoint
writes, inside summary writes), restarted with the same command after each kill; then compared with an
uninterrupted run. The suite's version is tests/cli/test_train_kill.py (5 kills).

    PYTHONPATH=. python benchmarks/chaos_soak.py --kills 50 --seed 7 [--workdir /tmp/soak]

Prints one line per kill and a summary: kills survived, steps lost (trained again after a restart),
whether the final weights are bit-identical and TensorBoard's steps unique and complete.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TEST = os.path.join(os.path.dirname(HERE), "tests", "training", "test_train_cli_kill.py")


def _chaos():
    spec = importlib.util.spec_from_file_location("chaos_test", TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    chaos = _chaos()
    steps = chaos.CHAOS_EVERY * (2 * args.kills + 2)
    work = args.workdir or tempfile.mkdtemp(prefix="chaos-soak-")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.time()
    full_dir, run_dir = os.path.join(work, "full"), os.path.join(work, "chaos")
    subprocess.run(chaos.chaos_command(full_dir, steps), env=env, check=True, capture_output=True,
                   cwd=work, timeout=1800)
    schedule = chaos.chaos_schedule(args.seed, args.kills, steps)
    chaos.CHAOS_STEPS = steps
    original = chaos.chaos_command
    chaos.chaos_command = lambda run_dir, steps=steps: original(run_dir, steps)
    lost = 0

    def show(row):
        nonlocal lost
        kind, step, delay, start, reached, kept, mid_write = row
        lost += max(reached - kept, 0)
        print(f"kill {kind:10s} at step {step:4d} (+{delay:5.1f} ms): started {start:4d}, reached {reached:4d}, "
              f"kept ckpt-{kept}{', inside a checkpoint write' if mid_write else ''}", flush=True)

    report = chaos.chaos_run(run_dir, schedule, work, timeout=1800, progress=show)
    step, weights = chaos._final_weights(run_dir)
    full_step, full_weights = chaos._final_weights(full_dir)
    equal = step == full_step == steps and all(
        np.array_equal(a, b) for a, b in zip(full_weights, weights, strict=True))
    scalars = chaos._scalars(run_dir)
    unique = [s for s, _ in scalars] == list(range(1, steps + 1))
    same_values = scalars == chaos._scalars(full_dir)
    print(f"kills survived: {len(report)}/{args.kills}; steps lost (trained again): {lost} of {steps}; "
          f"final weights bit-identical: {equal}; TensorBoard steps unique and complete: {unique}, "
          f"values equal to the uninterrupted run: {same_values}; {time.time() - started:.0f} s")
    return 0 if equal and unique and same_values else 1


if __name__ == "__main__":
    sys.exit(main())
