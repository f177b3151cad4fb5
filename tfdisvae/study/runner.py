"""Train, draw and evaluate each run of a study, resuming: a run is finished when its newest checkpoint
reached the run's steps and its metrics.json (of that step) holds every requested metric."""

from __future__ import annotations

import json
import os

from tfdisvae import runs
from tfdisvae.config import TrainConfig
from tfdisvae.metrics import suite
from tfdisvae.study.studies import SHIPPED_PATH, run_name, select

__all__ = ["DEFAULT_METRICS", "DEFAULT_NUM_POINTS", "DLIB_METRICS", "FIGURES", "POSTER_METRICS",
           "checkpoint_step", "read_metrics", "run_one", "run_state", "run_study", "split_metrics"]

# Every metric runs at its published size by default: every data point for the poster's estimator and
# table columns (--poster_num_points to change), disentanglement_lib's own sizes (10,000 / 5,000 points,
# 10,000 / 5,000 FactorVAE votes) for its scores (--num_points n: about n points, suite.quick_sizes).
# With both at the same size one evaluation computes all, encoding every point once (SharedEncoding).
POSTER_METRICS = suite.POSTER + ("elbo",)
DLIB_METRICS = ("mig_discrete", "factor_vae_score", "dci")
DEFAULT_METRICS = ",".join(POSTER_METRICS + DLIB_METRICS)
DEFAULT_NUM_POINTS = None
FIGURES = ("reconstruct_traverse", "kl_curves", "prior_traversals")  # poster Fig. 2, 3, 4

checkpoint_step = runs.latest_checkpoint_step  # the step of a run's newest checkpoint, or None


def read_metrics(run_dir):
    """RUN/metrics.json as a dict, or None when it is missing or unreadable."""
    try:
        with open(runs.metrics_path(run_dir)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_state(config, run_dir, metrics):
    """"finished" | "trained" (checkpoint at its steps, metrics missing) | "partial" | "new"."""
    step = checkpoint_step(run_dir)
    if step is None:
        return "new"
    if config.epochs is not None:  # the steps of the data size the run recorded
        if not os.path.isfile(runs.config_path(run_dir)):
            return "partial"
        recorded = TrainConfig.from_json(runs.config_path(run_dir))
        config = config.resolved(recorded.image_shape, recorded.dataset_size)
    if step < config.steps:
        return "partial"
    saved = read_metrics(run_dir)
    if saved is None or saved.get("step") != step:
        return "trained"
    wanted = [k for name in metrics for k in suite.written_keys(name)]
    return "finished" if all(k in saved.get("metrics", {}) for k in wanted) else "trained"


def split_metrics(metrics):
    """(the poster's metrics, the others) of the metric names `metrics` (a list or "a,b")."""
    names = suite.check_names(metrics)
    return [n for n in names if n in POSTER_METRICS], [n for n in names if n not in POSTER_METRICS]


def run_one(setting, seed, study_dir, *, steps=None, images=None, metrics=DEFAULT_METRICS,
            num_points=DEFAULT_NUM_POINTS, poster_num_points=None, num_samples=None, data_dir=None,
            data=None, figures=FIGURES, overrides=None, log=print):
    """Train (or resume), draw and evaluate one run unless it is finished; returns (run_dir, state before).

    data: optional GroundTruthData used for training, figures and metrics (tests pass a small grid).
    """
    from tfdisvae.evaluate import evaluate_run
    from tfdisvae.training import train

    run_dir = os.path.join(study_dir, run_name(setting, seed))
    config = setting.config(seed, run_dir, steps, data_dir, overrides, images)
    poster, dlib = split_metrics(metrics)
    state = run_state(config, run_dir, poster + dlib)
    if state == "finished":
        log(f"study: {run_name(setting, seed)} is finished (step {checkpoint_step(run_dir)}, "
            "metrics.json); skipped")
        return run_dir, state
    if state in ("new", "partial"):
        log(f"study: training {run_name(setting, seed)} ({state})")
        train(config, data=data, log=log)
    if figures:
        from tfdisvae.viz import write_figures

        write_figures(run_dir, plots=tuple(figures), data=data, seed=int(seed), log=log)
    # The poster's estimator and columns first (their sizes), then the disentanglement_lib scores at
    # num_points; evaluate_run adds both to the same metrics.json (same step).
    groups = ([(poster + dlib, num_points)] if poster_num_points == num_points
              else [(poster, poster_num_points), (dlib, num_points)])
    for names, points in groups:
        if names:
            evaluate_run(run_dir, names, num_points=points, num_samples=num_samples, seed=int(seed),
                         data_dir=data_dir, data=data, log=log)
    return run_dir, state


def run_study(study="poster_table1", study_dir=None, *, steps=None, images=None, seeds=(0,),
              metrics=DEFAULT_METRICS, num_points=DEFAULT_NUM_POINTS, poster_num_points=None,
              num_samples=None, only=None, data_dir=None, data=None, table_only=False, figures=FIGURES,
              overrides=None, shipped=SHIPPED_PATH, log=print):
    """Run (or resume) a study and write its table; returns the table dict (table.json's content).

    Args:
      steps: a step budget for every run, replacing the preset's 30 epochs (None: the preset's).
      images: an image budget for every run instead (steps = images / the run's batch size).
      seeds: the seeds of each setting. metrics: metric names (tfdisvae.metrics.METRICS).
      num_points: about this many points for the disentanglement_lib metrics (mig_discrete,
        factor_vae_score, dci, ...; None: their published sizes); poster_num_points: for
        mig/mmig/aam/elbo (None: every point). Equal sizes: one evaluation, every point encoded once.
      only: setting names to run (default all). data: a GroundTruthData for training and evaluation
        (default: each run's data set). table_only: train and evaluate nothing, rebuild the table.
      figures: viz plots written per run (default the poster's Fig. 2-4; () for none).
      overrides: more TrainConfig fields for every run (e.g. {"latent_dim": 3}).
      shipped: the shipped models' scores (read_shipped's format); absent: "—" in their cells.
    """
    from tfdisvae.study.table import build_table, write_table

    study_dir = study_dir or os.path.join("runs", f"study-{study}")
    settings = select(study, only)
    seeds = tuple(int(s) for s in seeds)
    common = dict(steps=steps, images=images, metrics=metrics, num_points=num_points,
                  poster_num_points=poster_num_points, num_samples=num_samples, overrides=overrides)
    if not table_only:
        for setting in settings:
            for seed in seeds:
                run_one(setting, seed, study_dir, data_dir=data_dir, data=data, figures=figures,
                        log=log, **common)
    table = build_table(study, study_dir, seeds=seeds, only=only, shipped=shipped, **common)
    md, js = write_table(table, study_dir)
    log(f"study: wrote {md}, {js} and {os.path.join(study_dir, 'hparams')}"
        + (f"; not finished: {', '.join(table['missing'])}" if table["missing"] else ""))
    return table
