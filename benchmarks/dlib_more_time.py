"""Time of IRS, the unsupervised scores, the downstream tasks, fairness and UDR at their default sizes, on
a synthetic data set with dSprites' factor grid (3, 6, 40, 32, 32: 737,280 points) whose "image" is its
factor classes; the codes are 10 latents, 5 following the factors plus noise, 5 pure noise (as
metrics_time.py). No model, so no encoding time: the metric's own cost.

    python benchmarks/dlib_more_time.py [--only irs,fairness,...]

Prints the machine, one line per metric as it finishes, a table and one JSON line.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import print_json_line, print_machine, print_table  # noqa: E402

SIZES = (3, 6, 40, 32, 32)
LATENTS = 10


def synthetic_data():
    from tfdisvae.data.ground_truth import ArrayImages, GroundTruthData

    grid = np.stack(np.unravel_index(np.arange(int(np.prod(SIZES))), SIZES), axis=1).astype(np.uint8)
    return GroundTruthData("synthetic-dsprites-grid", [f"f{k}" for k in range(5)], SIZES,
                           ArrayImages(grid[:, None, :, None], max_value=255))


def representation(seed=0):
    rng = np.random.default_rng(seed)
    scale = 3.0 / (np.asarray(SIZES, np.float64) - 1)

    def fn(images):
        classes = np.rint(np.asarray(images)[:, 0, :, 0] * 255.0)
        codes = rng.standard_normal((len(classes), LATENTS))
        codes[:, :5] += classes * scale
        return codes
    return fn


def posterior(seed):
    rep = representation(seed)
    return lambda images: (rep(images), np.full((len(images), LATENTS), -2.0))


def main():
    from tfdisvae import metrics

    calls = {
        "irs (10,000)": lambda d: metrics.compute_irs(d, representation(), 0),
        "unsupervised (10,000)": lambda d: metrics.compute_unsupervised(d, representation(), 0),
        "downstream_logistic (10 / 100 / 1,000 / 10,000; 5,000)":
            lambda d: metrics.compute_downstream_task(d, representation(), 0, "logistic"),
        "downstream_gbt (10 / 100 / 1,000 / 10,000; 5,000)":
            lambda d: metrics.compute_downstream_task(d, representation(), 0, "gbt"),
        "reduced_downstream (1,000; 5,000)":
            lambda d: metrics.compute_reduced_downstream_task(d, representation(), 0),
        "strong_downstream (1,000; 1,000; 10 experiments)":
            lambda d: metrics.compute_strong_downstream_task(d, representation(), 0),
        "fairness (10,000; 100 per class)": lambda d: metrics.compute_fairness(d, representation(), 0),
        "udr, 5 models (1,000)": lambda d: metrics.compute_udr(d, [posterior(s) for s in range(5)], 0),
    }
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated name prefixes (default: all)")
    args = parser.parse_args()
    only = [o for o in args.only.split(",") if o]
    machine = print_machine()
    data = synthetic_data()
    rows = []
    for name, call in calls.items():
        if only and not any(name.startswith(o) for o in only):
            continue
        start = time.perf_counter()
        call(data)
        rows.append({"metric": name, "seconds": time.perf_counter() - start})
        print(f"{name}: {rows[-1]['seconds']:.1f} s", flush=True)
    print_table(rows, ["metric", "seconds"])
    print_json_line({**machine, **{r["metric"]: round(r["seconds"], 1) for r in rows}})


if __name__ == "__main__":
    main()
