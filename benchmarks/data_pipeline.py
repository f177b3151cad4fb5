"""The dSprites data layer: full-grid render time and peak memory, and input-pipeline images per second.

    python benchmarks/data_pipeline.py [--data_dir DIR] [--repeats 5] [--batches 200]

Renders the full 737,280-image grid in a child process (`python -m tfdisvae.data.dsprites --render`),
reporting its wall time and peak RSS, then times `as_dataset` (shuffled, in-graph gather + bit unpack)
at batch 64 and 128 from the cache and from the on-demand renderer: the median over repeats of pulling
`--batches` batches, after one warm-up pass. Without --data_dir a temporary folder is used and removed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import median, print_json_line, print_machine, print_table, timed_repeats  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="tfdisvae-bench-")
    results = {}
    try:
        results["machine"] = print_machine()
        # 1. Render the full grid in a child process: its own wall time and peak RSS.
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tfdisvae.data.dsprites", "--render",
                        "--data_dir", data_dir], check=True)
        results["render_s"] = time.perf_counter() - start
        results["render_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"full grid rendered and cached in {results['render_s']:.1f} s (incl. interpreter start "
              f"and checksums), peak RSS {results['render_peak_rss_mb']:.0f} MB")

        import tensorflow as tf  # noqa: F401  (the baseline: TF imported, no data yet)

        import tfdisvae.data as data_lib

        baseline = rss_mb()
        results["baseline_rss_mb"] = baseline
        print(f"RSS with TensorFlow imported, before any data: {baseline:.0f} MB")
        rows = []
        for origin in ("cache", "render"):
            data = data_lib.load_ground_truth("dsprites", data_dir=data_dir, source=origin)
            for batch_size in (64, 128):
                ds = data.as_dataset(batch_size, shuffle=True, seed=0)
                it = iter(ds)
                n_batches = args.batches if origin == "cache" else max(args.batches // 10, 10)

                def pull(it=it, n=n_batches):
                    for _ in range(n):
                        next(it)

                pull()  # warm-up: tracing, first epoch order, prefetch buffers
                seconds = median(timed_repeats(pull, args.repeats))
                rows.append({"source": origin, "batch": batch_size,
                             "images/s": n_batches * batch_size / seconds,
                             "RSS MB": rss_mb(), "data RSS MB": rss_mb() - baseline})
        print_table(rows, ["source", "batch", "images/s", "RSS MB", "data RSS MB"])
        results["pipeline"] = rows
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process (TF + full packed grid as a tensor): "
              f"{results['peak_rss_mb']:.0f} MB, {results['peak_rss_mb'] - baseline:.0f} MB above "
              f"the baseline")
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_json_line(results)


if __name__ == "__main__":
    main()
