"""A real tiny training run on a coarse rendered dSprites grid: the MetricsCallback through training's
writer, `evaluate` writing metrics.json and logs/eval scalars (read back), the table columns against a
direct computation, and the command line."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import metrics, runs
from tfdisvae.evaluate import evaluate_run

SIZES = (3, 2, 3, 4, 4)   # 288 images, 64x64


@pytest.fixture(scope="module")
def data():
    from tfdisvae.data import load_ground_truth

    return load_ground_truth("dsprites", source="render", factor_sizes=SIZES)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data):
    from tfdisvae.config import TrainConfig
    from tfdisvae.training import train

    root = tmp_path_factory.mktemp("metrics-run")
    config = TrainConfig.create(preset="quick", model="beta_vae_h", latent_dim=3, steps=4,
                                batch_size=8, checkpoint_every=4, summary_every=2, image_every=0,
                                metrics_every=2, verbose=0, data_source="render",
                                run_dir=str(root / "run"), logdir=str(root))
    return train(config, data=data, log=lambda *_: None)


def _scalars(log_dir, prefix="metrics/"):
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}
            for tag in acc.Tags()["tensors"] if tag.startswith(prefix)}


def test_training_writes_metric_scalars_through_its_writer(run_dir):
    scalars = _scalars(runs.train_log_dir(run_dir))
    for name in ("mig", "mmig", "aam", "mig_discrete"):
        assert sorted(scalars[f"metrics/{name}"]) == [2, 4], name
        assert all(0.0 <= v <= 1.0 for v in scalars[f"metrics/{name}"].values())


def test_evaluate_writes_json_and_eval_scalars_with_the_same_numbers(run_dir, data):
    values = evaluate_run(run_dir, "mig,mmig,aam,elbo,unsupervised", num_points=288, num_samples=400,
                          data=data, log=lambda *_: None)
    with open(runs.metrics_path(run_dir)) as f:
        saved = json.load(f)
    assert saved["step"] == 4
    assert saved["metrics"] == pytest.approx(values)
    scalars = _scalars(runs.eval_log_dir(run_dir))
    for name in ("mig", "aam", "kl", "loss", "active_dims", "var_dimwise_kl"):
        assert scalars[f"metrics/{name}"] == {4: pytest.approx(values[name], rel=1e-6)}
    # the table's identities
    d = 3
    assert values["kl"] == pytest.approx(sum(values[f"kl_z{j}"] for j in range(d)), rel=1e-5)
    assert values["log_likelihood"] == -values["reconstruction"]
    assert values["elbo"] == pytest.approx(-(values["reconstruction"] + values["kl"]), rel=1e-5)
    assert values["kl_per_pixel"] == pytest.approx(values["kl"] / 64 / 64)
    assert values["var_kl_per_latent"] == pytest.approx(
        np.var([values[f"kl_z{j}"] for j in range(d)]), rel=1e-5)
    # a second evaluation of the same step adds to the file
    evaluate_run(run_dir, "mig_discrete", num_points=200, data=data, log=lambda *_: None)
    with open(runs.metrics_path(run_dir)) as f:
        both = json.load(f)["metrics"]
    assert "mig_discrete" in both and "aam" in both


def test_elbo_kl_equals_the_analytic_kl_of_every_image(run_dir, data):
    model, _ = runs.load_run(run_dir)
    images = data.images(np.arange(data.num_examples)).astype(np.float32)
    mean, log_var = (np.float64(t) for t in model.encode_params(images))
    kl = 0.5 * np.sum(np.exp(log_var) + np.square(mean) - 1.0 - log_var, axis=1)
    terms = metrics.elbo_terms(model, data, batch_size=100, seed=3)
    assert terms["num_points"] == data.num_examples
    # This barely trained model's KL is about 6e-5 nats: exp(lv) - 1 - lv cancels, so float32 leaves an
    # absolute error of a few 1e-9 per image; hence the absolute tolerance beside the relative one.
    assert terms["kl"] == pytest.approx(float(np.mean(kl)), rel=1e-4, abs=1e-7)


def test_unknown_metric_and_images_only_data_are_named(run_dir):
    with pytest.raises(ValueError, match="unknown metric.*valid names"):
        evaluate_run(run_dir, "mig,dci_typo", log=lambda *_: None)
    from tfdisvae.data.ground_truth import ArrayImages, ImageData

    images_only = ImageData("mnist-like", ArrayImages(np.zeros((4, 8, 8, 1), np.uint8)))
    with pytest.raises(TypeError, match="ground-truth factors"):
        metrics.MetricsCallback(images_only, log_dir="/tmp/unused")


def test_command_line(run_dir):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "tfdisvae.evaluate", f"--run_dir={run_dir}",
                           "--metrics=aam,mig_discrete", "--num_points=256", "--num_samples=300"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(runs.metrics_path(run_dir)) as f:
        saved = json.load(f)
    assert saved["settings"]["num_points"] == 256
    assert 0.0 <= saved["metrics"]["aam"] <= 1.0
    bad = subprocess.run([sys.executable, "-m", "tfdisvae.evaluate", "--run_dir=/nonexistent"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "does not exist" in bad.stderr


def test_all_metrics_and_udr_across_runs(run_dir, data):
    from tfdisvae.evaluate import evaluate_udr
    from tfdisvae.metrics.suite import METRICS

    values = evaluate_run(run_dir, "all", num_points=64, num_samples=200, data=data,
                          log=lambda *_: None)
    for key in ("mig", "factor_vae_eval_accuracy", "dci_disentanglement", "irs", "mutual_info_score",
                "gaussian_wasserstein_correlation_norm", "downstream_logistic_10_mean_test_accuracy",
                "downstream_gbt_10_min_test_accuracy",
                "reduced_downstream_gbt_64_mean_test_accuracy_reduced_factor",
                "strong_downstream_gbt_64_strong_generalization_gap",
                "mean_fairness_mean_pred_mean_sens", "elbo"):
        assert key in values, key
    with open(runs.metrics_path(run_dir)) as f:
        assert json.load(f)["settings"]["metrics"] == list(METRICS)
    # UDR of a run against itself: this barely trained model's latents all have KL < 0.01 nats, so
    # UDR filters every latent and scores 0
    out = evaluate_udr([run_dir, run_dir], num_points=100, data=data, log=lambda *_: None)
    assert out[run_dir] == {"udr_lasso": 0.0, "udr_spearman": 0.0}
    with open(runs.metrics_path(run_dir)) as f:
        saved = json.load(f)
    assert saved["metrics"]["udr_lasso"] == 0.0 and len(saved["settings"]["udr_runs"]) == 2
    assert os.path.isfile(os.path.join(run_dir, "udr.json"))
    with pytest.raises(ValueError, match="at least 2 runs"):
        evaluate_udr([run_dir], data=data)
