"""Time of the poster's MI estimator on the full dSprites factor grid (and, with --dlib, of
disentanglement_lib's metrics at their default sizes on array codes). No model: synthetic posteriors.

    python benchmarks/metrics_time.py [--num_samples 2000] [--num_components none] [--dlib]

Prints the machine, a table (seconds, peak RSS) and one JSON line.
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import print_json_line, print_machine, print_table  # noqa: E402

SIZES = (3, 6, 40, 32, 32)   # dSprites without the constant color: 737,280 points
LATENTS = 10


def synthetic_posteriors(seed=0):
    """Means: latents 0-4 follow the factors (plus noise), 5-9 pure noise; log-vars uniform in [-4, 0]."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(SIZES))
    factors = np.stack(np.unravel_index(np.arange(n), SIZES), axis=1)
    means = rng.standard_normal((n, LATENTS)).astype(np.float32)
    means[:, :5] += (3.0 * factors / (np.asarray(SIZES) - 1)).astype(np.float32)
    log_vars = rng.uniform(-4, 0, (n, LATENTS)).astype(np.float32)
    return means, log_vars, factors


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_samples", type=int, default=2000)
    parser.add_argument("--num_components", default="none", help="'none' (exact) or an int")
    parser.add_argument("--dlib", action="store_true", help="also time the disentanglement_lib suite")
    args = parser.parse_args()
    from tfdisvae import metrics

    machine = print_machine()
    means, log_vars, factors = synthetic_posteriors()
    rss_before = peak_rss_gb()
    comps = None if args.num_components.lower() == "none" else int(args.num_components)
    start = time.perf_counter()
    est = metrics.estimate_mutual_information(means, log_vars, factors, SIZES,
                                              num_samples=args.num_samples, num_components=comps)
    seconds = time.perf_counter() - start
    rows = [{"metric": "poster MI estimate (mig/mmig/aam)",
             "sizes": f"N={len(means):,}, D={LATENTS}, K=5, S={args.num_samples}, "
                      f"M={'N (exact)' if comps is None else comps}",
             "seconds": seconds, "peak RSS GB": f"{peak_rss_gb():.2f}"}]
    scores = metrics.poster_scores(est)
    if args.dlib:
        rng = np.random.default_rng(1)
        idx_train = rng.integers(len(means), size=10_000)
        idx_test = rng.integers(len(means), size=5_000)
        tr, te = (means[idx_train], factors[idx_train]), (means[idx_test], factors[idx_test])
        for name, fn in [("mig_discrete (10,000)", lambda: metrics.mig_discrete(*tr)),
                         ("sap (10,000 / 5,000)", lambda: metrics.sap(*tr, *te)),
                         ("modularity_explicitness (10,000 / 5,000)",
                          lambda: metrics.modularity_explicitness(*tr, *te)),
                         ("dci, GBT 100 trees (10,000 / 5,000)", lambda: metrics.dci(*tr, *te))]:
            t0 = time.perf_counter()
            fn()
            rows.append({"metric": name, "sizes": "codes given", "seconds": time.perf_counter() - t0,
                         "peak RSS GB": f"{peak_rss_gb():.2f}"})
    print_table(rows, ["metric", "sizes", "seconds", "peak RSS GB"])
    print(f"scores of the synthetic posteriors: {scores}")
    print_json_line({"mi_seconds": round(seconds, 2), "num_samples": args.num_samples,
                     "num_components": comps, "peak_rss_gb": round(peak_rss_gb(), 3),
                     "rss_before_estimate_gb": round(rss_before, 3), **machine,
                     **{r["metric"]: round(r["seconds"], 2) for r in rows[1:]}})


if __name__ == "__main__":
    main()
