"""Evaluate a trained run: python -m tfdisvae.evaluate --run_dir RUN [--metrics mig,aam,...|all] [--num_points N]
UDR across several runs:  python -m tfdisvae.evaluate --udr RUN1,RUN2,... [--num_points 1000]

Loads the run (`tfdisvae.runs.load_run`), computes the chosen metrics (`tfdisvae.metrics.compute_metrics`)
on the run's ground-truth data set, writes RUN/metrics.json and the same numbers as TensorBoard scalars
`metrics/<name>` in RUN/logs/eval at the checkpoint's step.

metrics.json: {"step": S, "checkpoint": path, "metrics": {name: value}, "settings": {...},
"units": {...}}. A later evaluation of the same step adds to (and overwrites names in) "metrics"; one of
another step replaces the file. `--udr` adds udr_lasso and udr_spearman to each run's metrics.json (the
runs compared are in its settings) and writes the pairwise scores to the first run's udr.json.
"""

import json
import os

from tfdisvae.callbacks import global_step
from tfdisvae.data import pipeline

DEFAULT_METRICS = "mig,mmig,aam,elbo"   # the poster's table

UNITS = {
    "mig": "dimensionless (gap / H[v_k], nats / nats)", "mmig": "dimensionless", "aam": "dimensionless",
    "mig_discrete": "dimensionless", "factor_vae_*_accuracy": "fraction correct (chance 1/K)",
    "beta_vae_*_accuracy": "fraction correct (chance 1/K)",
    "dci_informativeness_*_accuracy": "fraction correct (accuracy, not error)",
    "explicitness_*": "ROC-AUC (0.5 chance)", "gaussian_total_correlation": "nats",
    "loss, reconstruction, log_likelihood, kl, elbo, index_code_mi, total_correlation, dimwise_kl, "
    "kl_z*, dimwise_kl_z*": "nats per image", "*_per_pixel": "nats per pixel",
    "var_kl_per_latent, var_dimwise_kl": "nats^2 (variance over latents)",
    "mutual_info_score": "nats", "gaussian_wasserstein_correlation": "squared code units",
    "gaussian_wasserstein_correlation_norm, irs, udr_*": "dimensionless (0..1)",
    "*downstream_*_accuracy*": "fraction correct", "*_fairness_*": "total-variation distance (0 fair)",
}


def write_metrics_json(path, step, checkpoint, values, settings):
    """Write (or add to, for the same step) metrics.json atomically; returns the dict written."""
    from tfdisvae.runs import write_text_atomically

    payload = {"step": step, "checkpoint": checkpoint, "metrics": {}, "settings": {}, "units": UNITS}
    if os.path.isfile(path):
        try:
            with open(path) as f:
                old = json.load(f)
            if old.get("step") == step:
                payload["metrics"].update(old.get("metrics", {}))
                payload["settings"].update(old.get("settings", {}))
        except (OSError, ValueError):
            pass  # a damaged file is replaced
    payload["metrics"].update(values)
    payload["settings"].update(settings)
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True))
    return payload


def evaluate_run(run_dir, metrics=DEFAULT_METRICS, num_points=None, num_samples=None, checkpoint=None,
                 seed=0, data_dir=None, batch_size=512, data=None, log=print) -> dict:
    """Compute `metrics` for a run; write RUN/metrics.json and RUN/logs/eval scalars; return the values.

    data: optional data set to use instead of loading the run's (tests pass a small one).
    """
    import tensorflow as tf

    from tfdisvae import runs
    from tfdisvae.metrics.mutual_information import DEFAULT_NUM_SAMPLES
    from tfdisvae.metrics.suite import check_names, compute_metrics
    from tfdisvae.pretrained.zoo import resolve_run_dir

    names = check_names(metrics)
    run_dir = resolve_run_dir(run_dir, log=log)  # "pretrained:<name>" -> its run directory
    model, config = runs.load_run(run_dir, checkpoint)
    ckpt_path = runs.RunCheckpoints(run_dir, model).resolve(checkpoint)
    step = global_step(model)
    if data is None:
        data = pipeline.load(config, data_dir)
    num_samples = DEFAULT_NUM_SAMPLES if num_samples is None else int(num_samples)
    log(f"evaluating {run_dir} at step {step}: {', '.join(names)} "
        f"({'published sizes' if num_points is None else f'{num_points} points'})")
    values = compute_metrics(model, data, names, seed=seed, num_points=num_points,
                             num_samples=num_samples, batch_size=batch_size)
    settings = {"metrics": list(names), "num_points": num_points, "num_samples": num_samples,
                "seed": seed, "dataset": getattr(data, "name", config.dataset)}
    write_metrics_json(runs.metrics_path(run_dir), step, ckpt_path, values, settings)
    writer = tf.summary.create_file_writer(runs.eval_log_dir(run_dir))
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(f"metrics/{name}", value)
    writer.close()  # flushes
    for name in sorted(values):
        log(f"  {name:40s} {values[name]:.6g}")
    return values


def evaluate_udr(run_dirs, num_points=None, checkpoint=None, seed=0, data_dir=None, batch_size=512,
                 data=None, log=print) -> dict:
    """UDR (lasso and spearman) of the runs `run_dirs` on the first run's data set: adds udr_lasso and
    udr_spearman to each run's metrics.json, writes RUN1/udr.json (runs, model scores, pairwise
    matrices) and returns {run_dir: {"udr_lasso": ..., "udr_spearman": ...}}."""
    from tfdisvae import runs
    from tfdisvae.metrics import sampling
    from tfdisvae.metrics.udr import NUM_DATA_POINTS, compute_udr

    run_dirs = [r for r in (run_dirs.split(",") if isinstance(run_dirs, str) else run_dirs) if r]
    if len(run_dirs) < 2:
        raise ValueError(f"UDR compares at least 2 runs; got {len(run_dirs)} (--udr RUN1,RUN2,...)")
    loaded = [runs.load_run(r, checkpoint) for r in run_dirs]
    if data is None:
        data = pipeline.load(loaded[0][1], data_dir)
    num_points = NUM_DATA_POINTS if num_points is None else int(num_points)
    log(f"UDR of {len(run_dirs)} runs on {num_points} images")
    result = compute_udr(data, [sampling.posterior_from_model(m, batch_size) for m, _ in loaded],
                         seed=seed, num_data_points=num_points, chunk=batch_size)
    settings = {"udr_runs": [os.path.abspath(r) for r in run_dirs], "udr_num_points": num_points,
                "seed": seed}
    out = {}
    for i, (run_dir, (model, _)) in enumerate(zip(run_dirs, loaded, strict=True)):
        values = {k: float(result[k][i]) for k in ("udr_lasso", "udr_spearman")}
        step = global_step(model)
        ckpt = runs.RunCheckpoints(run_dir, model).resolve(checkpoint)
        write_metrics_json(runs.metrics_path(run_dir), step, ckpt, values, settings)
        out[run_dir] = values
        log(f"  {run_dir}: udr_lasso {values['udr_lasso']:.4f}  udr_spearman "
            f"{values['udr_spearman']:.4f}")
    with open(os.path.join(run_dirs[0], "udr.json"), "w") as f:
        json.dump({**settings, **{k: v.tolist() for k, v in result.items()}}, f, indent=2)
    return out


def run():  # the command is tfdisvae.cli.evaluate; older installs' tfdisvae-evaluate calls this
    from tfdisvae.cli import evaluate

    evaluate.run()


if __name__ == "__main__":
    run()
