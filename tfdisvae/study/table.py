"""The tables of a study (table.md, table.json, hparams/, <metric>_over_training.png; see
tfdisvae.study) from its finished runs, beside the poster's shipped models (YannDubs/disentangling-vae
results/<name>_dsprites/model.pt imported with tfdisvae.pretrained.from_disentangling_vae, evaluated with
the same estimator on the same data: `--shipped`, `read_shipped`'s format) and the poster's numbers."""

from __future__ import annotations

import json
import math
import os
import shutil

from tfdisvae import runs
from tfdisvae.config import TrainConfig
from tfdisvae.data import dsprites
from tfdisvae.study.runner import (
    DEFAULT_METRICS,
    DEFAULT_NUM_POINTS,
    read_metrics,
    run_state,
    split_metrics,
)
from tfdisvae.study.studies import (
    POSTER_COLUMNS,
    POSTER_TABLE1,
    SHIPPED_PATH,
    STUDIES,
    run_name,
    select,
)

__all__ = ["ACTIVE_KL", "CAPACITY_TOLERANCE", "COLUMNS", "COMPARISON", "CURVE_METRICS",
           "DISENTANGLING", "MIN_INFORMATION", "POSTER_EVAL_BATCH", "POSTER_LOG_UNIT",
           "build_table", "check_pattern", "poster_log_divisor", "read_shipped", "table_markdown",
           "training_curves", "write_curves", "write_hparams", "write_table"]

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


def poster_log_divisor(dataset_size=dsprites.NUM_EXAMPLES, eval_batch=POSTER_EVAL_BATCH):
    """len(dataloader) of the poster's evaluation: the number its logged losses are divided by."""
    return math.ceil(int(dataset_size) / int(eval_batch))


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
CURVE_METRICS = ("aam", "mig")  # read back from each run's MetricsCallback scalars (metrics/<name>)


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
    from tfdisvae.cli.study import study_command
    from tfdisvae.metrics.mutual_information import DEFAULT_NUM_SAMPLES

    poster, dlib = split_metrics(metrics)
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
    if steps is not None:
        return steps
    vae, factor = (TrainConfig.create("poster", model=m) for m in ("vae", "factor_vae"))
    return (f"the preset's ({vae.epochs:g} epochs; FactorVAE {factor.epochs:g} epochs of batch "
            f"{factor.batch_size})")


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
