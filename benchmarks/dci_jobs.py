"""DCI at disentanglement_lib's sizes (GBT, 100 trees, 10,000 / 5,000 codes) fitted in one process and
in one per CPU (metrics.dci's n_jobs): seconds of each and whether the scores are the same.

    python benchmarks/dci_jobs.py [--jobs 1,2]

Codes: the synthetic dSprites posteriors' means of benchmarks/metrics_time.py. Prints the machine, a
table and one JSON line.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import print_json_line, print_machine, print_table  # noqa: E402
from metrics_time import synthetic_posteriors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=f"1,{len(os.sched_getaffinity(0))}")
    args = parser.parse_args()
    machine = print_machine()
    from tfdisvae import metrics

    means, _, factors = synthetic_posteriors()
    rng = np.random.default_rng(1)
    train, test = rng.integers(len(means), size=10_000), rng.integers(len(means), size=5_000)
    rows, results = [], []
    for jobs in (int(j) for j in args.jobs.split(",")):
        start = time.perf_counter()
        results.append(metrics.dci(means[train], factors[train], means[test], factors[test],
                                   n_jobs=jobs))
        rows.append({"processes": jobs, "seconds": time.perf_counter() - start,
                     "dci_disentanglement": results[-1]["dci_disentanglement"]})
    print_table(rows, ["processes", "seconds", "dci_disentanglement"])
    same = all(r == results[0] for r in results)
    print(f"same scores in every row: {same}")
    print_json_line({"same": same, **machine, **{f"seconds_{r['processes']}": round(r["seconds"], 1)
                                                 for r in rows}})


if __name__ == "__main__":
    main()
