"""python -m tfdisvae.study --study=poster_table1 [--steps=N] [--seeds=0,1]: train, evaluate, tabulate.

A study is a list of `Setting`s (a method, its hyper-parameters, a preset). For every setting and seed
it trains an ordinary run directory STUDY_DIR/<setting>-seed<k>/ with `training.train`, writes the
poster's Fig. 2-4 with `viz.write_figures`, evaluates it with `evaluate.evaluate_run`, and finally writes

  STUDY_DIR/table.md     one row per setting (mean ± sample std over seeds), then ours / the poster's shipped
                         model / the poster's published number side by side, then the pattern check
  STUDY_DIR/table.json   the same numbers, every seed's values and metric curves, the units, the settings
  STUDY_DIR/hparams/     TensorBoard HParams logs: one trial per run (its hyper-parameters + final metrics)
  STUDY_DIR/aam_over_training.png, mig_over_training.png   the MetricsCallback's curves of every run

The poster's shipped models (YannDubs/disentangling-vae results/<name>_dsprites/model.pt, imported with
tfdisvae.pretrained.from_disentangling_vae and evaluated with the same estimator on the same data) enter
through a JSON file (SHIPPED_PATH, `--shipped`); its format is `read_shipped`'s docstring. Without the file
their cells show "—".

Resuming: a run is finished when its newest checkpoint reached the run's steps and its metrics.json (of
that step) holds every requested metric; finished runs are skipped, a half-trained one resumes from its
checkpoint (train() does that), a trained but unevaluated one is only evaluated. `--table_only` rebuilds
the table and the HParams logs from the finished runs without training or evaluating anything.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil

from absl import app, flags

from tfdisvae.config import TrainConfig

# ---------------------------------------------------------------------------------------------- studies


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of a study: `model` with the `preset`'s settings and `beta` (when given).

    name: run-directory prefix (STUDY_DIR/<name>-seed<k>); label: the row's name in the table;
    poster: the key of the row in POSTER_TABLE1 (None: the poster has no number for it).
    """

    name: str
    model: str
    beta: float | None = None
    preset: str = "poster"
    label: str | None = None
    poster: str | None = None

    def config(self, seed, run_dir, steps=None, data_dir=None, overrides=None, images=None):
        """The TrainConfig of this setting's run of `seed`.

        A budget replaces the preset's 30 epochs: `steps` (the same for every setting) or `images`
        (images per run; steps = ceil(images / batch size), so FactorVAE's batch of 128 gets half the
        steps of a batch of 64: the same epochs, as the preset's budget is).
        """
        if steps is not None and images is not None:
            raise ValueError("give a step budget (--steps) or an image budget (--images), not both")
        given = {"model": self.model, "seed": int(seed), "run_dir": run_dir, "verbose": 0}
        if self.beta is not None:
            given["beta"] = float(self.beta)
        if data_dir is not None:
            given["data_dir"] = data_dir
        given.update(overrides or {})
        if images is not None:
            if int(images) < 1:
                raise ValueError(f"--images must be a positive number of images, got {images!r}")
            batch_size = TrainConfig.create(preset=self.preset, **given).batch_size
            steps = math.ceil(int(images) / batch_size)
        if steps is not None:
            given["steps"] = int(steps)
        return TrainConfig.create(preset=self.preset, **given)


STUDIES = {
    "poster_table1": [
        Setting("vae", "vae", label="VAE", poster="vae"),
        Setting("beta_vae_h_b4", "beta_vae_h", beta=4.0, label="β-VAE_H (β = 4)", poster="beta_vae_h_b4"),
        Setting("beta_vae_h_b50", "beta_vae_h", beta=50.0, label="β-VAE_H (β = 50)",
                poster="beta_vae_h_b50"),
        Setting("beta_vae_b", "beta_vae_b", label="β-VAE_B", poster="beta_vae_b"),
        Setting("factor_vae", "factor_vae", label="FactorVAE", poster="factor_vae"),
        Setting("beta_tcvae", "beta_tcvae", label="β-TCVAE"),
    ],
}

# SPEC §5: the poster's dSprites table. KL, log-likelihood and total loss are normalised there in a way
# the poster does not state; we put our per-pixel values beside them.
POSTER_COLUMNS = ("aam", "mmig", "kl", "log_likelihood", "loss", "var_dimwise_kl")
POSTER_TABLE1 = {
    "vae": (0.20, 7.0e-4, 0.025, -0.001, 0.034, 1.5e-5),
    "beta_vae_h_b4": (0.65, 3.3e-2, 0.025, -0.015, 0.086, 1.1e-6),
    "beta_vae_h_b50": (0.08, 4.0e-4, 0.003, -0.140, 0.316, 3.6e-7),
    "beta_vae_b": (0.12, 2.0e-4, 0.025, -0.096, 0.108, 1.5e-5),
    "factor_vae": (0.87, 3.3e-2, 0.028, -0.036, 0.064, 5.7e-6),
}

# A latent is active when its mean KL(q(z_j|x) || p(z_j)) over the evaluated images reaches this.
ACTIVE_KL = 0.1

# The unit of the poster's loss columns. Its code logs test losses (disvae/evaluate.py compute_losses,
# results/*/test_losses.log) as: BCE summed over pixels and KL in nats, each averaged over a batch of
# eval_batchsize = 1000 images (losses.py _reconstruction_loss, _kl_normal_loss: nats per image), summed
# over the batches seen and divided by len(dataloader) = ceil(737,280 / 1000) = 738 batches — but its
# `return` sits inside the batch loop, so only the first batch (images 0-999 in file order, z = the
# posterior mean in eval mode) is summed. The logged number is therefore nats per image / 738, and the
# shipped test_losses.log agree with Table 1 on that scale (VAE: KL 0.031, loss 0.036; poster 0.025,
# 0.034). We divide our all-points means (nats per image, one z sample) by the same 738.
POSTER_EVAL_BATCH = 1000
POSTER_LOG_UNIT = ("nats per image / {divisor} (the poster's code: its first 1000-image batch divided by the "
                   "number of batches)")


def poster_log_divisor(dataset_size=737_280, eval_batch=POSTER_EVAL_BATCH):
    """len(dataloader) of the poster's evaluation: the number its logged losses are divided by."""
    return math.ceil(int(dataset_size) / int(eval_batch))


SHIPPED_PATH = os.path.join("results", "poster_shipped.json")

# Table columns: (key in metrics.json, header with its unit).
COLUMNS = (
    ("aam", "AAM (0-1)"),
    ("mmig", "MMIG (0-1)"),
    ("mig", "MIG (0-1)"),
    ("mig_discrete", "MIG discrete (0-1)"),
    ("factor_vae_eval_accuracy", "FactorVAE score (eval accuracy, 0-1)"),
    ("dci_disentanglement", "DCI disentanglement (0-1)"),
    ("kl", "KL (nats/image)"),
    ("log_likelihood", "log-likelihood (nats/image)"),
    ("loss", "total loss (nats/image)"),
    ("var_dimwise_kl", "var. dim-wise KL (nats², over latents)"),
    ("active_latents", f"active latents (KL ≥ {ACTIVE_KL} nats)"),
)
# Ours / the shipped model / the poster's number: (key in POSTER_TABLE1 or None, metrics.json key,
# header, divisor: 1 or "poster_log" for the loss columns in the poster's logged unit).
COMPARISON = (("aam", "aam", "AAM", 1), (None, "mig", "MIG", 1), ("mmig", "mmig", "MMIG", 1),
              ("kl", "kl", "KL", "poster_log"), ("log_likelihood", "log_likelihood", "log-likelihood",
                                                  "poster_log"),
              ("loss", "loss", "total loss", "poster_log"),
              ("var_dimwise_kl", "var_dimwise_kl", "var. dim-wise KL (nats²)", 1))

# Every metric runs at its published size by default: every data point for the poster's estimator and
# table columns (--poster_num_points to change), disentanglement_lib's own sizes (10,000 / 5,000 points,
# 10,000 / 5,000 FactorVAE votes) for its scores (--num_points n: about n points, suite.quick_sizes).
# With both at the same size one evaluation computes all, encoding every point once (SharedEncoding).
POSTER_METRICS = ("mig", "mmig", "aam", "elbo")
DLIB_METRICS = ("mig_discrete", "factor_vae_score", "dci")
DEFAULT_METRICS = ",".join(POSTER_METRICS + DLIB_METRICS)
DEFAULT_NUM_POINTS = None
CURVE_METRICS = ("aam", "mig")  # read back from each run's MetricsCallback scalars (metrics/<name>)
FIGURES = ("reconstruct_traverse", "kl_curves", "prior_traversals")  # poster Fig. 2, 3, 4

# metric name -> the keys it writes into metrics.json (what "evaluated" means for a run).
_METRIC_KEYS = {"mig": ("mig",), "mmig": ("mmig",), "aam": ("aam",), "mig_discrete": ("mig_discrete",),
                "factor_vae_score": ("factor_vae_eval_accuracy",),
                "dci": ("dci_disentanglement",), "elbo": ("loss", "kl", "log_likelihood", "var_dimwise_kl"),
                "beta_vae_score": ("beta_vae_eval_accuracy",), "sap": ("sap",),
                "modularity_explicitness": ("modularity",), "unsupervised": ("gaussian_total_correlation",)}


# ---------------------------------------------------------------------------------------------- runs


def run_name(setting, seed):
    """The run directory's name inside the study directory: <setting>-seed<k>."""
    return f"{setting.name}-seed{int(seed)}"


def select(study, only=None):
    """The settings of `study`, or those named in `only` (a list or "a,b"). Raises ValueError."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; valid: {', '.join(STUDIES)}")
    settings = STUDIES[study]
    if not only:
        return list(settings)
    names = [n.strip() for n in only.split(",")] if isinstance(only, str) else list(only)
    known = {s.name for s in settings}
    unknown = [n for n in names if n and n not in known]
    if unknown:
        raise ValueError(f"--only names unknown setting(s) {', '.join(unknown)}; {study} has: "
                         f"{', '.join(sorted(known))}")
    return [s for s in settings if s.name in names]


def checkpoint_step(run_dir):
    """Step of the run's newest checkpoint (read from the checkpoint index, no model built), or None."""
    import tensorflow as tf

    from tfdisvae import runs

    path = tf.train.latest_checkpoint(runs.checkpoint_dir(run_dir))
    return None if path is None else int(path.rsplit("-", 1)[1])


def target_steps(config, run_dir):
    """The steps `config` trains to, resolved with the data size the run recorded (None: not started)."""
    from tfdisvae import runs

    if config.steps is not None and config.epochs is None:
        return int(config.steps)
    path = runs.config_path(run_dir)
    if not os.path.isfile(path):
        return None
    recorded = TrainConfig.from_json(path)
    return int(math.ceil(config.epochs * recorded.dataset_size / config.batch_size))


def read_metrics(run_dir):
    """RUN/metrics.json as a dict, or None when it is missing or unreadable."""
    from tfdisvae import runs

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
    steps = target_steps(config, run_dir)
    if steps is None or step < steps:
        return "partial"
    saved = read_metrics(run_dir)
    if saved is None or saved.get("step") != step:
        return "trained"
    wanted = [k for name in metrics for k in _METRIC_KEYS.get(name, (name,))]
    return "finished" if all(k in saved.get("metrics", {}) for k in wanted) else "trained"


def _split_metrics(metrics):
    from tfdisvae.metrics.suite import check_names

    names = check_names(metrics)
    return [n for n in names if n in POSTER_METRICS], [n for n in names if n not in POSTER_METRICS]


def run_one(setting, seed, study_dir, *, steps=None, images=None, metrics=DEFAULT_METRICS, num_points=DEFAULT_NUM_POINTS,
            poster_num_points=None, num_samples=None, data_dir=None, data=None, figures=FIGURES,
            overrides=None, log=print):
    """Train (or resume), draw and evaluate one run unless it is finished; returns (run_dir, state before).

    data: optional GroundTruthData used for training, figures and metrics (tests pass a small grid).
    """
    from tfdisvae.evaluate import evaluate_run
    from tfdisvae.training import train

    run_dir = os.path.join(study_dir, run_name(setting, seed))
    config = setting.config(seed, run_dir, steps, data_dir, overrides, images)
    poster, dlib = _split_metrics(metrics)
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


# ---------------------------------------------------------------------------------------------- table


def _mean_std(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n}


def _fmt(value):
    if value is None:
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.2e}"


def _cell(entry):
    if entry is None:
        return "—"
    if entry["std"] is None:
        return _fmt(entry["mean"])
    return f"{_fmt(entry['mean'])} ± {_fmt(entry['std'])}"


def build_table(study, study_dir, seeds=(0,), only=None, steps=None, metrics=DEFAULT_METRICS,
                num_points=DEFAULT_NUM_POINTS, poster_num_points=None, num_samples=None, overrides=None,
                images=None, shipped=SHIPPED_PATH):
    """Collect every finished run's metrics.json into the table dict (what table.json holds).

    A (setting, seed) without a finished run is listed under "missing"; its row uses the seeds found.
    shipped: the path of the shipped models' scores (read_shipped); absent: their cells are "—".
    """
    from tfdisvae.metrics.mutual_information import DEFAULT_NUM_SAMPLES

    poster, dlib = _split_metrics(metrics)
    shipped_models = read_shipped(shipped) if shipped and os.path.isfile(shipped) else None
    rows, missing = [], []
    for setting in select(study, only):
        per_seed, steps_done, curves = {}, {}, {}
        for seed in seeds:
            run_dir = os.path.join(study_dir, run_name(setting, seed))
            config = setting.config(seed, run_dir, steps, None, overrides, images)
            if run_state(config, run_dir, poster + dlib) != "finished":
                missing.append(run_name(setting, seed))
                continue
            saved = read_metrics(run_dir)
            per_seed[int(seed)] = _with_active_latents(saved["metrics"])
            steps_done[int(seed)] = saved["step"]
            curves[int(seed)] = training_curves(run_dir)
        keys = sorted({k for values in per_seed.values() for k in values})
        summary = {k: _mean_std([v[k] for v in per_seed.values() if k in v]) for k in keys}
        rows.append({"setting": setting.name, "label": setting.label or setting.name,
                     "model": setting.model, "beta": setting.beta, "seeds": sorted(per_seed),
                     "steps": steps_done, "values": summary, "per_seed": per_seed, "curves": curves,
                     "capacity": _final_capacity(setting, steps_done, steps, overrides, images),
                     "shipped": (_with_active_latents(shipped_models[setting.name]["metrics"])
                                 if shipped_models and setting.name in shipped_models else None),
                     "poster": (dict(zip(POSTER_COLUMNS, POSTER_TABLE1[setting.poster], strict=True))
                                if setting.poster in POSTER_TABLE1 else None)})
    table = {
        "study": study, "steps": _budget(steps, images),
        "command": study_command(study, steps, seeds, metrics, num_points, poster_num_points, num_samples,
                                 only, images),
        "seeds": [int(s) for s in seeds], "metrics": list(poster + dlib),
        "num_points": {"poster_metrics": poster_num_points or "all points",
                       "dlib_metrics": num_points or "disentanglement_lib's sizes"},
        "shipped": {"path": shipped, "found": shipped_models is not None},
        "poster_log_divisor": poster_log_divisor(),
        "poster_log_unit": POSTER_LOG_UNIT.format(divisor=poster_log_divisor()),
        "num_samples": num_samples or DEFAULT_NUM_SAMPLES,
        "columns": [{"key": k, "header": h} for k, h in COLUMNS],
        "std": "sample standard deviation over seeds (ddof = 1); none with one seed",
        "rows": rows, "missing": missing,
    }
    table["pattern"] = check_pattern(table)
    table["pattern_shipped"] = check_pattern(table, source="shipped") if shipped_models else []
    return table


def read_shipped(path):
    """The scores of the poster's shipped models: {setting name: {"metrics": {...}, ...}}.

    The file (results/poster_shipped.json, written by whoever evaluates the imported models):

        {"source": "YannDubs/disentangling-vae <commit>, results/<name>_dsprites/model.pt",
         "command": "how the scores were computed",
         "models": {"vae":           {"model": "VAE_dsprites",    <a run's metrics.json>},
                    "beta_vae_h_b4": {"model": "betaH_dsprites",  ...},
                    "beta_vae_b":    {"model": "betaB_dsprites",  ...},
                    "factor_vae":    {"model": "factor_dsprites", ...},
                    "beta_tcvae":    {"model": "btcvae_dsprites", ...}}}

    Each entry of "models" is keyed by the study's setting name and holds what `evaluate.evaluate_run`
    writes to a run's metrics.json ("metrics": {name: value} with the same keys — aam, mig, mmig, kl,
    log_likelihood, loss, kl_z<j>, ... — and optionally "step", "settings", "units"), plus "model": the
    shipped folder it came from. Settings without a shipped model (β = 50) are simply absent.
    Raises ValueError (one line) on another layout.
    """
    with open(path, encoding="utf-8") as f:
        try:
            content = json.load(f)
        except ValueError as err:
            raise ValueError(f"{path} is not JSON ({err}); see study.read_shipped for its format") from None
    models = content.get("models") if isinstance(content, dict) else None
    if not isinstance(models, dict):
        raise ValueError(f"{path} has no \"models\" object {{setting: {{\"metrics\": {{...}}}}}}; see "
                         "study.read_shipped for its format")
    known = {s.name for settings in STUDIES.values() for s in settings}
    for name, entry in models.items():
        if name not in known:
            raise ValueError(f"{path}: unknown setting {name!r} under \"models\"; valid: "
                             f"{', '.join(sorted(known))}")
        if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
            raise ValueError(f"{path}: models.{name} needs a \"metrics\" object (a run's metrics.json "
                             "layout); see study.read_shipped")
    return models


def training_curves(run_dir, names=CURVE_METRICS):
    """{name: [[step, value], ...]} of the run's MetricsCallback scalars metrics/<name> (RUN/logs/train);
    names the run did not record are left out."""
    from tfdisvae import runs
    from tfdisvae.viz.plots import read_scalars

    log_dir = runs.train_log_dir(run_dir)
    if not os.path.isdir(log_dir):
        return {}
    scalars = read_scalars(log_dir, "metrics/")
    return {name: [[int(a), float(b)] for a, b in zip(*scalars[f"metrics/{name}"], strict=True)]
            for name in names if f"metrics/{name}" in scalars}


def _final_capacity(setting, steps_done, steps, overrides, images):
    """β-VAE_B's capacity C (nats) at the step each seed's run stopped, {seed: C}; None for others."""
    if setting.model != "beta_vae_b" or not steps_done:
        return None
    config = setting.config(0, "unused", steps, None, overrides, images)
    hp = config.method_hparams()
    return {seed: hp["c_init"] + (hp["c_final"] - hp["c_init"]) * min(step / hp["c_steps"], 1.0)
            if hp["c_steps"] else hp["c_final"] for seed, step in steps_done.items()}


def _with_active_latents(values):
    """values plus "active_latents": the latents whose KL (kl_z<j>, from the elbo metric) ≥ ACTIVE_KL."""
    per_latent = [v for k, v in values.items() if k.startswith("kl_z") and k[4:].isdigit()]
    if not per_latent:
        return dict(values)
    return {**values, "active_latents": float(sum(v >= ACTIVE_KL for v in per_latent))}


def _budget(steps, images):
    if images is not None:
        return f"{int(images):,} images (steps = images / batch size)"
    return steps if steps is not None else "the preset's (30 epochs; FactorVAE 60 epochs of batch 128)"


def study_command(study, steps=None, seeds=(0,), metrics=DEFAULT_METRICS, num_points=DEFAULT_NUM_POINTS,
                  poster_num_points=None, num_samples=None, only=None, images=None):
    """The command line that trains and evaluates this study (what table.md states)."""
    parts = ["python -m tfdisvae.study", f"--study={study}"]
    if steps is not None:
        parts.append(f"--steps={steps}")
    if images is not None:
        parts.append(f"--images={int(images)}")
    parts.append("--seeds=" + ",".join(str(int(s)) for s in seeds))
    if metrics != DEFAULT_METRICS:
        parts.append(f"--metrics={metrics}")
    if num_points != DEFAULT_NUM_POINTS:
        parts.append(f"--num_points={num_points}")
    if poster_num_points is not None:
        parts.append(f"--poster_num_points={poster_num_points}")
    if num_samples is not None:
        parts.append(f"--num_samples={num_samples}")
    if only:
        parts.append(f"--only={only if isinstance(only, str) else ','.join(only)}")
    return " ".join(parts)


# The pattern a study checks: what the poster's shipped models show under a correct estimator (issue 18:
# VAE AAM 0.16 / MIG 0.10 below every disentangling model; FactorVAE 0.37 above β-VAE_H 0.20 on AAM), the
# poster's β = 50 collapse, and β-VAE_B training at all (its KL tracks the capacity C and its code carries
# information; a collapsed start has KL ≈ 0 ≠ C and index-code MI ≈ 0).
DISENTANGLING = ("beta_vae_h_b4", "beta_vae_b", "factor_vae", "beta_tcvae")
CAPACITY_TOLERANCE = 0.1  # "KL follows C": |KL − C| ≤ 10 % of C at the run's last step
MIN_INFORMATION = 0.1     # nats of index-code MI: far above the estimator's noise (±0.002 nats)


def check_pattern(table, source="ours"):
    """The pattern, checked on the table's means: a list of {"claim", "held", "evidence"}.

    source: "ours" (the retrained runs' means over seeds) or "shipped" (the poster's shipped models).
    held is True or False, or None when a row or value the claim needs is not in the table.
    """
    if source not in ("ours", "shipped"):
        raise ValueError(f"source must be 'ours' or 'shipped', got {source!r}")
    rows = {row["setting"]: row for row in table["rows"]}
    labels = {s.name: s.label or s.name for settings in STUDIES.values() for s in settings}
    labels.update({row["setting"]: row["label"] for row in table["rows"]})

    def value(setting, key):
        row = rows.get(setting)
        if row is None:
            return None
        if source == "shipped":
            return (row.get("shipped") or {}).get(key)
        entry = row.get("values", {}).get(key) if row["seeds"] else None
        return None if entry is None else entry["mean"]

    def compare(claim, left, right, key, higher):
        a, b = value(left, key), value(right, key)
        if a is None or b is None:
            return {"claim": claim, "held": None, "evidence": "not in the table"}
        held = a > b if higher else a < b
        return {"claim": claim, "held": bool(held),
                "evidence": f"{labels[left]} {_fmt(a)} vs {labels[right]} {_fmt(b)}"}

    checks = []
    for key, name in (("aam", "AAM"), ("mig", "MIG")):
        for setting in DISENTANGLING:
            checks.append(compare(f"{labels[setting]} above VAE on {name}", setting, "vae", key, True))
    checks.append(compare("FactorVAE above β-VAE_H (β = 4) on AAM", "factor_vae", "beta_vae_h_b4",
                          "aam", True))
    checks.append(compare("β-VAE_H (β = 50) has fewer active latents than VAE", "beta_vae_h_b50", "vae",
                          "active_latents", False))
    for other in ("vae", "beta_vae_h_b4"):
        checks.append(compare(f"β-VAE_H (β = 50) has a worse log-likelihood than {labels[other]}",
                              "beta_vae_h_b50", other, "log_likelihood", False))
    checks += _capacity_checks(rows.get("beta_vae_b"), value, source)
    return checks


def _capacity_checks(row, value, source):
    """β-VAE_B trains: its KL follows C, and its code carries information (index-code MI)."""
    follows = f"β-VAE_B's KL follows its capacity C (within {CAPACITY_TOLERANCE:.0%} of C)"
    informs = f"β-VAE_B's code carries information (index-code MI > {MIN_INFORMATION} nats)"
    kl, mi = value("beta_vae_b", "kl"), value("beta_vae_b", "index_code_mi")
    if source == "shipped":  # trained past its C schedule: C = the preset's c_final
        capacity = TrainConfig.create("poster", model="beta_vae_b").method_hparams()["c_final"]
    else:
        caps = list(((row or {}).get("capacity") or {}).values())
        capacity = sum(caps) / len(caps) if caps else None
    checks = []
    if kl is None or capacity is None:
        checks.append({"claim": follows, "held": None, "evidence": "not in the table"})
    else:
        checks.append({"claim": follows, "held": bool(abs(kl - capacity) <= CAPACITY_TOLERANCE * capacity),
                       "evidence": f"KL {_fmt(kl)} nats, C {_fmt(capacity)} nats"})
    if mi is None:
        checks.append({"claim": informs, "held": None, "evidence": "not in the table"})
    else:
        checks.append({"claim": informs, "held": bool(mi > MIN_INFORMATION),
                       "evidence": f"index-code MI {_fmt(mi)} nats"})
    return checks


def _points(n):
    return n if isinstance(n, str) else f"{n} points"


def _scaled_cell(entry, divisor):
    """An ours-cell ({mean, std, n} or None) divided by `divisor`."""
    if entry is None or divisor == 1:
        return _cell(entry)
    std = None if entry["std"] is None else entry["std"] / divisor
    return _cell({"mean": entry["mean"] / divisor, "std": std, "n": entry["n"]})


def table_markdown(table):
    """The Markdown text of table.md."""
    dlib_points = table["num_points"]["dlib_metrics"]
    dlib_sizes = (f"about {_points(dlib_points)} (tfdisvae.metrics.suite.quick_sizes)"
                  if isinstance(dlib_points, int) else "disentanglement_lib's own sizes (10,000 / 5,000)")
    lines = [f"# Study {table['study']}", "", f"Command: `{table['command']}`", "",
             f"Budget per run: {table['steps']}. Seeds: {', '.join(map(str, table['seeds']))} "
             f"(mean ± {table['std']}). Metric sizes: the poster's estimator (AAM, MMIG, MIG) and the "
             f"loss columns on {_points(table['num_points']['poster_metrics'])} "
             f"({table['num_samples']} Monte-Carlo samples); MIG discrete, FactorVAE score and DCI on "
             f"{dlib_sizes}.", ""]
    header = ["setting", "seeds"] + [h for _, h in COLUMNS]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table["rows"]:
        cells = [row["label"], ",".join(map(str, row["seeds"])) or "—"]
        cells += [_cell(row["values"].get(k)) for k, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    divisor = table.get("poster_log_divisor", poster_log_divisor())
    shipped = table.get("shipped", {})
    lines += ["", "## Beside the poster: ours / the poster's shipped model / the poster's number", "",
              "Each cell: ours (retrained, mean ± std over seeds) / the poster's shipped model (imported, the "
              "same estimator on the same data; "
              + (f"from {shipped.get('path')}" if shipped.get("found")
                 else f"— : {shipped.get('path') or SHIPPED_PATH} not found")
              + ") / the poster's Table 1 (— where it has no number). AAM, MIG and MMIG are "
              f"dimensionless; KL, log-likelihood and total loss are in the unit the poster's code logs: "
              f"{POSTER_LOG_UNIT.format(divisor=divisor)} (study.POSTER_LOG_UNIT), i.e. the "
              "nats-per-image columns above divided by "
              f"{divisor}.", ""]
    header = ["setting"] + [f"{h}: ours / shipped / poster" for _, _, h, _ in COMPARISON]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table["rows"]:
        poster, theirs = row["poster"] or {}, row.get("shipped") or {}
        cells = [row["label"]]
        for key, ours, _, unit in COMPARISON:
            d = divisor if unit == "poster_log" else 1
            mine = _scaled_cell(row["values"].get(ours), d)
            other = theirs.get(ours)
            cells.append(f"{mine} / {_fmt(None if other is None else other / d)} / "
                         f"{_fmt(poster.get(key) if key else None)}")
        lines.append("| " + " | ".join(cells) + " |")
    verdict = {True: "yes", False: "**no**", None: "—"}
    lines += ["", "## The pattern, checked on these means", "",
              "What the poster's shipped models show under a correct estimator (study.check_pattern).", "",
              "| claim | ours | evidence | shipped | evidence |", "|---|---|---|---|---|"]
    theirs = {c["claim"]: c for c in table.get("pattern_shipped", [])}
    for check in table["pattern"]:
        other = theirs.get(check["claim"], {"held": None, "evidence": "—"})
        lines.append(f"| {check['claim']} | {verdict[check['held']]} | {check['evidence']} | "
                     f"{verdict[other['held']]} | {other['evidence']} |")
    curves = [name for name in CURVE_METRICS
              if any(c.get(name) for row in table["rows"] for c in row.get("curves", {}).values())]
    if curves:
        lines += ["", "## Over training", ""]
        lines += [f"![{name} over training]({name}_over_training.png)" for name in curves]
    if table["missing"]:
        lines += ["", f"Not finished (left out): {', '.join(table['missing'])}."]
    return "\n".join(lines) + "\n"


def write_curves(table, study_dir):
    """STUDY_DIR/<metric>_over_training.png for each CURVE_METRICS the runs recorded; returns the paths."""
    from tfdisvae.viz.plots import metric_curves

    paths = []
    for name in CURVE_METRICS:
        sources = {f"{row['label']} (seed {seed})": tuple(zip(*curve[name], strict=True))
                   for row in table["rows"] for seed, curve in row.get("curves", {}).items()
                   if curve.get(name)}
        if sources:
            path = os.path.join(study_dir, f"{name}_over_training.png")
            metric_curves(sources, name, title=f"{name.upper()} over training, {table['study']}").save(path)
            paths.append(path)
    return paths


def write_hparams(table, study_dir):
    """Rewrite STUDY_DIR/hparams/: the experiment (hparams_config) and one trial per finished run.

    Trial `<setting>-seed<k>` holds its hyper-parameters (hp.hparams) and its final metrics as scalars
    `metrics/<name>` at the run's step.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    from tfdisvae import runs

    root = os.path.join(study_dir, "hparams")
    shutil.rmtree(root, ignore_errors=True)
    trials, metric_keys = [], set()
    for row in table["rows"]:
        for seed, values in row["per_seed"].items():
            name = f"{row['setting']}-seed{seed}"
            config = runs.read_config(os.path.join(study_dir, name))
            params = {"setting": row["setting"], "model": config.model, "seed": int(seed),
                      "steps": int(config.steps), "batch_size": int(config.batch_size),
                      "lr": float(config.lr), "latent_dim": int(config.latent_dim)}
            for key, value in config.method_hparams().items():
                if value is not None:
                    params[key] = value if isinstance(value, str) else float(value)
            trials.append((name, params, values, int(row["steps"][seed])))
            metric_keys.update(values)
    names = sorted({k for _, params, _, _ in trials for k in params})
    with tf.summary.create_file_writer(root).as_default():
        hp.hparams_config(hparams=[hp.HParam(n) for n in names],
                          metrics=[hp.Metric(f"metrics/{k}") for k in sorted(metric_keys)])
    for name, params, values, step in trials:
        writer = tf.summary.create_file_writer(os.path.join(root, name))
        with writer.as_default():
            hp.hparams(params, trial_id=name)
            for key, value in values.items():
                tf.summary.scalar(f"metrics/{key}", value, step=step)
        writer.flush()
        writer.close()
    return root


def write_table(table, study_dir):
    """Write table.md, table.json and hparams/; returns (md path, json path)."""
    os.makedirs(study_dir, exist_ok=True)
    md, js = os.path.join(study_dir, "table.md"), os.path.join(study_dir, "table.json")
    with open(md, "w", encoding="utf-8") as f:
        f.write(table_markdown(table))
    with open(js, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=2, sort_keys=True, ensure_ascii=False)
    write_hparams(table, study_dir)
    write_curves(table, study_dir)
    return md, js


def run_study(study="poster_table1", study_dir=None, *, steps=None, images=None, seeds=(0,),
              metrics=DEFAULT_METRICS,
              num_points=DEFAULT_NUM_POINTS, poster_num_points=None, num_samples=None, only=None,
              data_dir=None, data=None, table_only=False, figures=FIGURES, overrides=None,
              shipped=SHIPPED_PATH, log=print):
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
    study_dir = study_dir or os.path.join("runs", f"study-{study}")
    settings = select(study, only)
    seeds = tuple(int(s) for s in seeds)
    common = dict(steps=steps, images=images, metrics=metrics, num_points=num_points, poster_num_points=poster_num_points,
                  num_samples=num_samples, overrides=overrides)
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


# ---------------------------------------------------------------------------------------------- CLI

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("study", "poster_table1", f"Study to run: {', '.join(STUDIES)}.", flag_values=FLAGS)
flags.DEFINE_integer("steps", None, "Steps per run, replacing the preset's 30 epochs (stated in the table).",
                     flag_values=FLAGS)
flags.DEFINE_integer("images", None, "Images per run instead of --steps: steps = images / batch size, "
                     "so every setting sees the same epochs (the preset's budget is 30 epochs).",
                     flag_values=FLAGS)
flags.DEFINE_string("seeds", "0", "Comma-separated seeds of every setting, e.g. 0,1.", flag_values=FLAGS)
flags.DEFINE_string("study_dir", None, "Study directory (default runs/study-<study>).", flag_values=FLAGS)
flags.DEFINE_string("metrics", DEFAULT_METRICS, "Comma-separated metric names (tfdisvae.metrics.METRICS).",
                    flag_values=FLAGS)
flags.DEFINE_integer("num_points", DEFAULT_NUM_POINTS, "Points for mig_discrete, factor_vae_score, dci "
                     "(default: disentanglement_lib's sizes, 10,000 / 5,000).", flag_values=FLAGS)
flags.DEFINE_string("shipped", SHIPPED_PATH, "JSON of the poster's shipped models' scores "
                    "(study.read_shipped); absent: their cells show —.", flag_values=FLAGS)
flags.DEFINE_integer("poster_num_points", None, "Points for mig, mmig, aam, elbo (default every point).",
                     flag_values=FLAGS)
flags.DEFINE_integer("num_samples", None, "Monte-Carlo samples of the poster's MI estimator (default 2000).",
                     flag_values=FLAGS)
flags.DEFINE_string("only", None, "Comma-separated setting names to run (default all).", flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "Data folder (default $TFDISVAE_DATA).", flag_values=FLAGS)
flags.DEFINE_bool("table_only", False, "Rebuild table and HParams logs from finished runs; train nothing.",
                  flag_values=FLAGS)
flags.DEFINE_bool("figures", True, "Write the poster's Fig. 2-4 of each run.", flag_values=FLAGS)
flags.DEFINE_string("data_source", None, "dSprites source for every run (auto | render; default the "
                    "preset's).", flag_values=FLAGS)
flags.DEFINE_integer("train_subset", None, "Train every run on this many images (default all).",
                     flag_values=FLAGS)
flags.DEFINE_integer("latent_dim", None, "Latents of every run (default the preset's 10).", flag_values=FLAGS)


def _seeds(text):
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise app.UsageError(f"--seeds must be comma-separated integers, e.g. 0,1; got {text!r}") from None
    if not seeds:
        raise app.UsageError("--seeds names no seed; give e.g. --seeds=0 or --seeds=0,1")
    return seeds


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; every setting is a --flag.")
    overrides = {k: FLAGS[k].value for k in ("data_source", "train_subset", "latent_dim")
                 if FLAGS[k].value is not None}
    try:
        run_study(FLAGS.study, FLAGS.study_dir, steps=FLAGS.steps, images=FLAGS.images, seeds=_seeds(FLAGS.seeds),
                  metrics=FLAGS.metrics, num_points=FLAGS.num_points,
                  poster_num_points=FLAGS.poster_num_points, num_samples=FLAGS.num_samples,
                  only=FLAGS.only, data_dir=FLAGS.data_dir, table_only=FLAGS.table_only,
                  figures=FIGURES if FLAGS.figures else (), overrides=overrides, shipped=FLAGS.shipped)
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err


def run():
    """Console-script entry point."""
    from tfdisvae import cli

    cli.run(main, FLAGS)


if __name__ == "__main__":
    run()
