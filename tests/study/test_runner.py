"""The study runner on a tiny rendered dSprites grid: two settings train, are drawn and evaluated; the
table holds their rows (checked against each run's metrics.json); a second invocation trains nothing;
--table_only rebuilds the same table; the HParams logs read back hold each trial's hyper-parameters and
metric tags; the command line parses its own flags."""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tfdisvae import study
from tfdisvae.study import table as study_table

SIZES = (3, 2, 3, 4, 4)  # 288 images, 64x64
ONLY = "vae,beta_vae_h_b50"
KW = dict(steps=4, seeds=(0,), metrics="mig,elbo,mig_discrete", num_points=288, poster_num_points=288,
          num_samples=200, only=ONLY,
          # not the repository's results/poster_shipped.json: these tables have no shipped scores
          shipped=os.path.join(os.sep, "nonexistent", "poster_shipped.json"),
          overrides=dict(latent_dim=3, batch_size=8, checkpoint_every=4, summary_every=2, image_every=0,
                         data_source="render"))


@pytest.fixture(scope="module")
def data():
    from tfdisvae.data import load_ground_truth

    return load_ground_truth("dsprites", source="render", factor_sizes=SIZES)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data):
    root = str(tmp_path_factory.mktemp("study"))
    messages = []
    table = study.run_study("poster_table1", root, data=data, log=messages.append, **KW)
    return root, table, messages


def _mtimes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        if os.sep + "hparams" in dirpath or dirpath.endswith("hparams"):
            continue
        for name in files:
            if name in ("table.md", "table.json"):
                continue
            path = os.path.join(dirpath, name)
            out[path] = os.stat(path).st_mtime_ns
    return out


def test_runs_are_trained_drawn_evaluated_and_tabulated(finished):
    root, table, _ = finished
    assert [r["setting"] for r in table["rows"]] == ["vae", "beta_vae_h_b50"]
    assert table["missing"] == []
    for row in table["rows"]:
        run_dir = os.path.join(root, f"{row['setting']}-seed0")
        assert study.checkpoint_step(run_dir) == 4
        with open(os.path.join(run_dir, "metrics.json")) as f:
            saved = json.load(f)
        assert saved["step"] == 4
        for key in ("aam", "mmig", "mig", "mig_discrete", "kl", "loss", "log_likelihood", "var_dimwise_kl"):
            assert row["values"][key] == {"mean": saved["metrics"][key], "std": None, "n": 1}
        assert row["poster"]["aam"] == study.POSTER_TABLE1[row["setting"]][0]
        for name in ("reconstruct_traverse.png", "kl_curves.png", "prior_traversals.png"):
            assert os.path.getsize(os.path.join(run_dir, "figures", name)) > 0
    with open(os.path.join(root, "table.json")) as f:
        assert json.load(f)["rows"][1]["values"]["kl"]["mean"] == table["rows"][1]["values"]["kl"]["mean"]
    with open(os.path.join(root, "table.md")) as f:
        md = f.read()
    assert "KL (nats/image)" in md and "Beside the poster" in md and "Budget per run: 4" in md
    line = next(x for x in md.splitlines() if x.startswith("| β-VAE_H (β = 50) | 0 |"))
    kl = table["rows"][1]["values"]["kl"]["mean"]
    assert study_table._fmt(kl) in line
    assert "/ 0.08" in md  # the poster's AAM of beta = 50 beside ours


def test_second_invocation_trains_nothing_and_table_only_rebuilds_it(finished, data):
    root, table, _ = finished
    before = _mtimes(root)
    messages = []
    again = study.run_study("poster_table1", root, data=data, log=messages.append, **KW)
    assert _mtimes(root) == before
    assert sum("is finished" in m and "skipped" in m for m in messages) == 2
    assert not any(m.startswith("study: training") for m in messages)
    with open(os.path.join(root, "table.md")) as f:
        md = f.read()
    rebuilt = study.run_study("poster_table1", root, table_only=True, log=lambda *_: None, **KW)
    assert _mtimes(root) == before
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(again, sort_keys=True) \
        == json.dumps(table, sort_keys=True)
    with open(os.path.join(root, "table.md")) as f:
        assert f.read() == md


def test_a_half_trained_run_resumes_and_a_missing_seed_is_reported(finished, data, tmp_path):
    root = str(tmp_path / "copy")
    shutil.copytree(os.path.join(finished[0], "vae-seed0"), os.path.join(root, "vae-seed0"))
    kw = dict(KW, only="vae", steps=6, figures=())
    table = study.run_study("poster_table1", root, table_only=True, **{k: v for k, v in kw.items()
                                                                      if k != "figures"},
                            log=lambda *_: None)
    assert table["missing"] == ["vae-seed0"]  # 4 of 6 steps: not finished
    messages = []
    table = study.run_study("poster_table1", root, data=data, log=messages.append, **kw)
    assert any(m.startswith("resuming from step 4") for m in messages)
    assert study.checkpoint_step(os.path.join(root, "vae-seed0")) == 6
    assert table["missing"] == [] and table["rows"][0]["steps"] == {0: 6}


def _hparams_of(run_dir):
    acc = EventAccumulator(run_dir, size_guidance={"tensors": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    return acc, {tag: plugin_data_pb2.HParamsPluginData.FromString(c) for tag, c in content.items()}


def test_hparams_logs_hold_each_trial_and_its_metrics(finished):
    root, table, _ = finished
    _, experiment = _hparams_of(os.path.join(root, "hparams"))
    exp = next(d.experiment for d in experiment.values() if d.HasField("experiment"))
    assert {"setting", "model", "seed", "beta", "lr", "steps"} <= {h.name for h in exp.hparam_infos}
    assert "metrics/aam" in {m.name.tag for m in exp.metric_infos}
    for row in table["rows"]:
        trial = os.path.join(root, "hparams", f"{row['setting']}-seed0")
        acc, data = _hparams_of(trial)
        start = next(d.session_start_info for d in data.values() if d.HasField("session_start_info"))
        assert start.hparams["setting"].string_value == row["setting"]
        assert start.hparams["model"].string_value == row["model"]
        beta = 50.0 if row["setting"] == "beta_vae_h_b50" else None
        if beta is not None:
            assert start.hparams["beta"].number_value == beta
        else:
            assert "beta" not in start.hparams  # the VAE has no beta
        for key in ("aam", "mig", "kl"):
            (event,) = acc.Tensors(f"metrics/{key}")
            assert event.step == row["steps"][0]
            assert math.isclose(float(tf.make_ndarray(event.tensor_proto)),
                                row["per_seed"][0][key], rel_tol=1e-6)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown setting.*nope.*beta_tcvae"):
        study.select("poster_table1", "vae,nope")
    with pytest.raises(ValueError, match="unknown study"):
        study.select("table9")
    settings = study.select("poster_table1")
    assert [s.name for s in settings] == ["vae", "beta_vae_h_b4", "beta_vae_h_b50", "beta_vae_b",
                                          "factor_vae", "beta_tcvae"]
    b50 = settings[2].config(1, "/tmp/x")
    assert (b50.model, b50.beta, b50.epochs, b50.steps, b50.seed) == ("beta_vae_h", 50.0, 30.0, None, 1)
    assert settings[4].config(0, "/tmp/x", steps=100).batch_size == 128  # the poster preset's FactorVAE


def test_command_line_rebuilds_the_table_and_rejects_bad_seeds(finished):
    root, _, _ = finished
    with open(os.path.join(root, "table.md")) as f:
        md = f.read()
    cmd = [sys.executable, "-m", "tfdisvae.study", f"--study_dir={root}"]
    done = subprocess.run(cmd + ["--table_only", "--steps=4", f"--only={ONLY}", "--metrics=mig,elbo,mig_discrete",
                                 "--num_points=288", "--poster_num_points=288", "--num_samples=200",
                                 f"--shipped={KW['shipped']}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "study: wrote" in done.stdout and "not finished" not in done.stdout
    with open(os.path.join(root, "table.md")) as f:
        assert f.read() == md
    bad = subprocess.run(cmd + ["--seeds=a,b", "--table_only"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--seeds must be comma-separated integers" in bad.stderr


def _row(setting, label, shipped=None, capacity=None, **values):
    return {"setting": setting, "label": label, "seeds": [0], "shipped": shipped, "capacity": capacity,
            "values": {k: {"mean": v, "std": None, "n": 1} for k, v in values.items()}}


def test_pattern_is_checked_from_the_numbers_not_assumed():
    rows = [_row("vae", "VAE", aam=0.20, mig=0.05, active_latents=8.0, log_likelihood=-40.0),
            _row("beta_vae_h_b4", "β4", aam=0.30, mig=0.04, active_latents=5.0, log_likelihood=-60.0),
            _row("beta_vae_h_b50", "β50", aam=0.10, mig=0.01, active_latents=2.0, log_likelihood=-50.0),
            _row("factor_vae", "F", aam=0.25, mig=0.09, active_latents=6.0, log_likelihood=-45.0),
            _row("beta_vae_b", "B", capacity={0: 25.0}, aam=0.5, mig=0.3, kl=23.0, index_code_mi=9.0)]
    checks = {c["claim"]: c for c in study.check_pattern({"rows": rows})}
    assert checks["β4 above VAE on AAM"]["held"] is True
    assert checks["β4 above VAE on MIG"]["held"] is False
    assert checks["β4 above VAE on MIG"]["evidence"] == "β4 0.04 vs VAE 0.05"
    assert checks["F above VAE on MIG"]["held"] is True
    assert checks["B above VAE on AAM"]["held"] is True
    assert checks["β-TCVAE above VAE on AAM"]["held"] is None  # no β-TCVAE row
    assert checks["FactorVAE above β-VAE_H (β = 4) on AAM"]["held"] is False  # 0.25 < 0.30
    assert checks["β-VAE_H (β = 50) has fewer active latents than VAE"]["held"] is True
    assert checks["β-VAE_H (β = 50) has a worse log-likelihood than VAE"]["held"] is True
    assert checks["β-VAE_H (β = 50) has a worse log-likelihood than β4"]["held"] is False
    follows = "β-VAE_B's KL follows its capacity C (within 10% of C)"
    informs = "β-VAE_B's code carries information (index-code MI > 0.1 nats)"
    assert checks[follows] == {"claim": follows, "held": True, "evidence": "KL 23 nats, C 25 nats"}
    assert checks[informs]["held"] is True
    # A collapsed β-VAE_B (KL ≈ 0, no information) fails both; a KL 3 nats above C fails the first.
    rows[-1] = _row("beta_vae_b", "B", capacity={0: 25.0}, kl=0.01, index_code_mi=0.002)
    checks = {c["claim"]: c for c in study.check_pattern({"rows": rows})}
    assert checks[follows]["held"] is False and checks[informs]["held"] is False
    rows[-1] = _row("beta_vae_b", "B", capacity={0: 20.0, 1: 30.0}, kl=28.0, index_code_mi=5.0)
    assert {c["claim"]: c for c in study.check_pattern({"rows": rows})}[follows]["held"] is False


def test_the_pattern_of_the_shipped_models_reads_their_scores():
    shipped = {"vae": {"aam": 0.16, "mig": 0.10}, "beta_vae_h_b4": {"aam": 0.20, "mig": 0.18},
               "beta_vae_b": {"aam": 0.53, "mig": 0.37, "kl": 24.1, "index_code_mi": 8.0},
               "factor_vae": {"aam": 0.37, "mig": 0.21}, "beta_tcvae": {"aam": 0.27, "mig": 0.13}}
    rows = [_row(name, name, shipped=values) for name, values in shipped.items()]
    checks = study.check_pattern({"rows": rows}, source="shipped")
    held = {c["claim"]: c["held"] for c in checks}
    assert held["factor_vae above VAE on AAM"] is True and held["beta_tcvae above VAE on MIG"] is True
    assert held["FactorVAE above β-VAE_H (β = 4) on AAM"] is True  # 0.37 > 0.20, issue 18's figures
    assert held["β-VAE_H (β = 50) has fewer active latents than VAE"] is None  # nothing shipped
    assert held["β-VAE_B's KL follows its capacity C (within 10% of C)"] is True  # C = 25
    shipped["factor_vae"]["aam"] = 0.15
    checks = study.check_pattern({"rows": [_row(n, n, shipped=v) for n, v in shipped.items()]},
                                 source="shipped")
    held = {c["claim"]: c["held"] for c in checks}
    assert held["factor_vae above VAE on AAM"] is False
    assert held["FactorVAE above β-VAE_H (β = 4) on AAM"] is False
    with pytest.raises(ValueError, match="source must be 'ours' or 'shipped'"):
        study.check_pattern({"rows": rows}, source="poster")


def test_the_shipped_file_enters_the_three_way_table(finished, tmp_path):
    root, table, _ = finished
    path = tmp_path / "poster_shipped.json"
    metrics = {"aam": 0.16, "mig": 0.10, "mmig": 0.09, "kl": 22.14, "log_likelihood": -36.9,
               "loss": 59.0, "var_dimwise_kl": 0.5, "kl_z0": 3.0, "kl_z1": 0.01}
    path.write_text(json.dumps({"source": "test", "models": {"vae": {"model": "VAE_dsprites",
                                                                     "metrics": metrics}}}))
    kw = {k: v for k, v in KW.items() if k != "shipped"}
    rebuilt = study.run_study("poster_table1", root, table_only=True, shipped=str(path),
                              log=lambda *_: None, **kw)
    vae = rebuilt["rows"][0]
    assert vae["shipped"]["aam"] == 0.16 and vae["shipped"]["active_latents"] == 1.0
    assert rebuilt["rows"][1]["shipped"] is None  # no shipped β = 50
    md = study.table_markdown(rebuilt)
    line = next(x for x in md.splitlines() if x.startswith("| VAE |") and "/ 0.16 /" in x)
    divisor = study.poster_log_divisor()
    assert divisor == 738
    assert f"/ {study_table._fmt(22.14 / divisor)} / 0.025" in line  # KL: shipped in the poster's unit
    ours_kl = vae["values"]["kl"]["mean"] / divisor
    assert f"{study_table._fmt(ours_kl)} / " in line
    b50 = next(x for x in md.splitlines() if x.startswith("| β-VAE_H (β = 50) |") and "/ — /" in x)
    assert "/ — / 0.08" in b50  # AAM: ours / no shipped model / the poster's
    # Absent file: every shipped cell is "—" and the table says which file it looked for.
    assert "not found" in study.table_markdown(table)
    for bad, message in [("[1]", "has no \"models\" object"),
                         ('{"models": {"vae2": {"metrics": {}}}}', "unknown setting 'vae2'"),
                         ('{"models": {"vae": {"aam": 1}}}', "models.vae needs a \"metrics\" object"),
                         ("{", "is not JSON")]:
        path.write_text(bad)
        with pytest.raises(ValueError, match=message) as info:
            study.read_shipped(str(path))
        assert "\n" not in str(info.value)


def test_training_curves_are_read_back_and_drawn(tmp_path):
    from tfdisvae import runs

    run_dir = str(tmp_path / "vae-seed0")
    writer = tf.summary.create_file_writer(runs.train_log_dir(run_dir))
    with writer.as_default():
        for step, value in ((5000, 0.1), (10000, 0.3), (15000, 0.25)):
            tf.summary.scalar("metrics/aam", value, step=step)
    writer.close()
    curves = study.training_curves(run_dir)
    assert curves == {"aam": [[5000, pytest.approx(0.1)], [10000, pytest.approx(0.3)],
                              [15000, pytest.approx(0.25)]]}
    table = {"study": "poster_table1", "rows": [{"label": "VAE", "curves": {0: curves}}]}
    (path,) = study.write_curves(table, str(tmp_path))
    assert path.endswith("aam_over_training.png") and os.path.getsize(path) > 0
    from tfdisvae import viz

    picture = viz.metric_curves({"VAE": run_dir}, "aam")
    steps, values = picture.data["curves"]["VAE"]
    assert steps.tolist() == [5000, 10000, 15000] and values[1] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="no metrics/mig scalars in .*metrics/aam"):
        viz.training_metric(run_dir, "mig")


def test_active_latents_count_the_kl_per_latent_and_the_command_is_stated(finished):
    _, table, _ = finished
    for row in table["rows"]:
        values = row["per_seed"][0]
        kls = [values[f"kl_z{j}"] for j in range(3)]
        assert values["active_latents"] == sum(k >= study.ACTIVE_KL for k in kls)
    assert study_table._with_active_latents({"kl_z0": 0.5, "kl_z1": 0.05, "kl_z10": 2.0, "kl": 2.55}) == {
        "kl_z0": 0.5, "kl_z1": 0.05, "kl_z10": 2.0, "kl": 2.55, "active_latents": 2.0}
    assert table["command"] == ("python -m tfdisvae.study --study=poster_table1 --steps=4 --seeds=0 "
                                "--metrics=mig,elbo,mig_discrete --num_points=288 "
                                "--poster_num_points=288 --num_samples=200 --only=vae,beta_vae_h_b50")
    assert [c["claim"] for c in table["pattern"]][0] == "β-VAE_H (β = 4) above VAE on AAM"


def test_an_image_budget_gives_every_setting_the_same_epochs(tmp_path):
    settings = {s.name: s for s in study.STUDIES["poster_table1"]}
    steps = {name: settings[name].config(0, str(tmp_path / name), images=1_280_000).steps
             for name in ("vae", "factor_vae", "beta_vae_b")}
    assert steps == {"vae": 20_000, "factor_vae": 10_000, "beta_vae_b": 20_000}  # batch 64, 128, 64
    assert settings["vae"].config(0, str(tmp_path), images=100).steps == 2  # ceil(100 / 64)
    with pytest.raises(ValueError, match="not both"):
        settings["vae"].config(0, str(tmp_path), steps=10, images=640)
    with pytest.raises(ValueError, match="--images must be a positive"):
        settings["vae"].config(0, str(tmp_path), images=0)
    assert "--images=1280000" in study.study_command("poster_table1", images=1_280_000)
