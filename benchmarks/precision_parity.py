"""Does bfloat16 mixed precision train the same model as float32? Both loss curves, against seed noise.

    python benchmarks/precision_parity.py --model=beta_vae_h --steps=3000 --seeds=0,1

Trains one run per (precision, seed) with train.py's own code (`tfdisvae.training.train`, the quick
preset, rendered dSprites, 50 steps per execution) into a temporary folder, reads its TensorBoard
scalars back, and prints for every run the mean loss terms over the last `--tail` steps and the
images/s train.py reached end to end (callbacks, summaries, checkpoints and image summaries included;
the first 20% of the steps, compilation and warm-up, are left out). The verdict compares the gap
between the precisions (mean over seeds) with the spread between seeds within float32: the noise of
training itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import load_average, print_json_line, print_machine, print_table  # noqa: E402

TERMS = ("loss", "reconstruction", "kl")
PRECISIONS = ("float32", "mixed_bfloat16")


def train_one(model, precision, seed, steps, run_dir):
    """Train one run; returns its TensorBoard scalars {tag: {step: value}} and steady images/s."""
    import keras
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tfdisvae import callbacks as cb
    from tfdisvae import runs, training
    from tfdisvae.config import TrainConfig

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.marks = []

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append((cb.global_step(self.model), time.perf_counter()))

    clock = Clock()
    config = TrainConfig.create(model=model, mixed_precision=precision, seed=seed, steps=steps,
                                run_dir=run_dir, verbose=0, data_source="auto")
    training.train(config, callbacks=[clock], log=lambda *_: None)
    batch = config.batch_size
    start = next(m for m in clock.marks if m[0] >= 0.2 * steps)
    end = clock.marks[-1]
    rate = (end[0] - start[0]) * batch / (end[1] - start[1])
    acc = EventAccumulator(runs.train_log_dir(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    scalars = {tag: {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}
               for tag in acc.Tags()["tensors"] if tag.startswith("loss/")}
    return scalars, rate


def tail_mean(series: dict, steps: int, tail: int) -> float:
    values = [v for s, v in series.items() if s > steps - tail]
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="beta_vae_h")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--tail", type=int, default=500, help="steps at the end averaged")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    seeds = [int(s) for s in args.seeds.split(",")]
    precisions = args.precisions.split(",")
    print_machine()
    print(f"load average at start: {load_average()}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for precision in precisions:
                run_dir = os.path.join(tmp, f"{precision}-{seed}")
                scalars, rate = train_one(args.model, precision, seed, args.steps, run_dir)
                means = {t: tail_mean(scalars[f"loss/{t}"], args.steps, args.tail) for t in TERMS}
                results[(precision, seed)] = {**means, "images_per_second": rate}
                print(f"  {precision:15s} seed {seed}: " +
                      " ".join(f"{t}={means[t]:.2f}" for t in TERMS) +
                      f"  {rate:,.0f} images/s (load {load_average().split()[0]})", flush=True)
    rows = [{"precision": p, "seed": s, **{t: f"{r[t]:.2f}" for t in TERMS},
             "train.py images/s": f"{r['images_per_second']:,.0f}"}
            for (p, s), r in results.items()]
    print(f"\n{args.model}, {args.steps} steps, means over the last {args.tail} steps (nats/image):\n")
    print_table(rows, list(rows[0]))
    verdict = {}
    if len(seeds) > 1 and set(PRECISIONS) <= set(precisions):
        print()
        gap_rows = []
        for term in TERMS:
            by = {p: [results[(p, s)][term] for s in seeds] for p in PRECISIONS}
            gap = sum(by["mixed_bfloat16"]) / len(seeds) - sum(by["float32"]) / len(seeds)
            noise = max(by["float32"]) - min(by["float32"])
            verdict[term] = {"bf16_minus_f32": gap, "f32_seed_spread": noise}
            gap_rows.append({"term": term, "bf16 − f32 (mean over seeds)": f"{gap:+.2f}",
                             "f32 seed spread": f"{noise:.2f}",
                             "within noise": "yes" if abs(gap) <= noise else "no"})
        print_table(gap_rows, list(gap_rows[0]))
    print(f"load average at end: {load_average()}")
    print_json_line({"model": args.model, "steps": args.steps, "tail": args.tail,
                     "runs": [{"precision": p, "seed": s, **r} for (p, s), r in results.items()],
                     "verdict": verdict})


if __name__ == "__main__":
    main()
