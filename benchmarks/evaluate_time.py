"""Time of each metric of a run's evaluation at full size, through compute_metrics' shared encoding.

    python benchmarks/evaluate_time.py [--run_dir RUN] [--metrics mig,mmig,aam,elbo,mig_discrete,...]
                                       [--num_points N] [--num_samples 2000]

Without --run_dir: a freshly initialised beta_vae_h (Burgess, 10 latents) on the rendered dSprites grid;
the cost does not depend on the weights. Sizes: as `tfdisvae.evaluate` (num_points None: every point for
the poster's estimator and the loss columns, disentanglement_lib's own sizes for its scores; the study
passes the same). The rows follow compute_metrics' order: the elbo pass (it renders, encodes and decodes
every point, filling the shared encoding), or an encoding pass when elbo is not asked for, then the
estimator and each disentanglement_lib score, which only look codes up. Prints the machine, the load
average (a shared machine inflates every row), a table and one JSON line.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_average, print_json_line, print_machine, print_table  # noqa: E402

DEFAULT = "elbo,mig,mmig,aam,mig_discrete,factor_vae_score,dci"  # the study's, elbo first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run_dir", default=None, help="a run directory (default: a fresh model)")
    parser.add_argument("--metrics", default=DEFAULT)
    parser.add_argument("--num_points", type=int, default=None, help="default: the published sizes")
    parser.add_argument("--num_samples", type=int, default=None, help="estimator samples (2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from tfdisvae.metrics import sampling
    from tfdisvae.metrics.mutual_information import DEFAULT_NUM_SAMPLES
    from tfdisvae.metrics.suite import POSTER, check_names, compute_metrics

    machine = print_machine()
    names = check_names(args.metrics)
    if args.run_dir:
        from tfdisvae import runs
        from tfdisvae.evaluate import load_data

        model, config = runs.load_run(args.run_dir)
        data = load_data(config)
    else:
        from tfdisvae.data import load_ground_truth
        from tfdisvae.models import make_model

        model, data = make_model("beta_vae_h", latent_dim=10), load_ground_truth("dsprites",
                                                                                source="render")
    num_samples = args.num_samples or DEFAULT_NUM_SAMPLES
    encoding = sampling.SharedEncoding(model, data)
    rows, start_all = [], time.perf_counter()

    def timed(label, fn):
        start = time.perf_counter()
        fn()
        rows.append({"part": label, "seconds": round(time.perf_counter() - start, 1),
                     "encoded so far": f"{encoding.encoded:,}"})
        print(f"  {label}: {rows[-1]['seconds']} s", flush=True)

    sizes = {} if args.num_points is None else {"num_points": args.num_points}
    if "elbo" in names:
        from tfdisvae.metrics.elbo import elbo_terms

        points = sizes.get("num_points")
        timed("elbo (loss columns; renders, encodes, decodes)",
              lambda: elbo_terms(model, data, num_points=points, seed=args.seed, encoding=encoding))
    elif args.num_points is None:
        timed("encode every point", lambda: encoding.posterior_of(np.arange(data.num_examples)))
    poster = [n for n in names if n in POSTER]
    if poster:
        timed(f"{'/'.join(poster)} (estimator, S = {num_samples})",
              lambda: _metrics(compute_metrics, model, data, ["mig"], args, num_samples, encoding))
    for name in names:
        if name not in POSTER and name != "elbo":
            timed(name, lambda n=name: _metrics(compute_metrics, model, data, [n], args, num_samples,
                                                encoding))
    total = time.perf_counter() - start_all
    rows.append({"part": "total", "seconds": round(total, 1), "encoded so far": f"{encoding.encoded:,}"})
    print(f"load average after: {load_average()}")
    print_table(rows, ["part", "seconds", "encoded so far"])
    print_json_line({"seconds": {r["part"]: r["seconds"] for r in rows}, "metrics": list(names),
                     "num_points": args.num_points, "num_samples": num_samples,
                     "run_dir": args.run_dir, "load_average": load_average(), **machine})


def _metrics(compute_metrics, model, data, names, args, num_samples, encoding):
    """One metric through compute_metrics, reusing the filled encoding."""
    return compute_metrics(model, data, names, seed=args.seed, num_points=args.num_points,
                           num_samples=num_samples, share_encoding=encoding)


if __name__ == "__main__":
    main()
