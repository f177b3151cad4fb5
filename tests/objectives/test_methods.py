"""The method table: each objective against a plain-numpy computation of its formula, schedules, validation,
XLA compilation."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import log_softmax, logsumexp

from tfdisvae.objectives import methods as M

N_DATA = 500
LOG_2PI = math.log(2 * math.pi)


def fixed_batch(b=8, d=4, seed=0):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(b, d))
    log_var = rng.normal(scale=0.5, size=(b, d)) - 1.0
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(b, d))
    recon = rng.uniform(50, 150, size=b)
    logits = rng.normal(size=(b, 2))
    return {k: v.astype(np.float32) for k, v in dict(
        reconstruction=recon, mean=mean, log_var=log_var, z=z, tc_logits=logits).items()}


def np_terms(x, n=N_DATA, estimator="mss"):
    """Plain numpy: recon, analytic KL, and the MSS/MWS decomposition (float64)."""
    z, mean, log_var = (x[k].astype(np.float64) for k in ("z", "mean", "log_var"))
    b = z.shape[0]
    logn = -0.5 * (LOG_2PI + log_var[None] + (z[:, None] - mean[None]) ** 2 * np.exp(-log_var[None]))
    if estimator == "mss":
        m = b - 1
        w = np.full((b, b), 1.0 / m)
        for i in range(b):
            w[i, i], w[i, (i + 1) % b] = 1.0 / n, (n - m) / (n * m)
        log_qz = logsumexp(np.log(w) + logn.sum(2), axis=1)
        log_prod = logsumexp(np.log(w)[:, :, None] + logn, axis=1).sum(1)
    else:
        log_qz = logsumexp(logn.sum(2), axis=1) - math.log(b)
        log_prod = (logsumexp(logn, axis=1) - math.log(b)).sum(1)
    log_qzx = (-0.5 * (LOG_2PI + log_var + (z - mean) ** 2 * np.exp(-log_var))).sum(1)
    log_pz = (-0.5 * (LOG_2PI + z**2)).sum(1)
    kl_latent = (0.5 * (np.exp(log_var) + mean**2 - 1 - log_var)).mean(0)
    return dict(recon=x["reconstruction"].astype(np.float64).mean(), kl=kl_latent.sum(),
                kl_latent=kl_latent, mi=np.mean(log_qzx - log_qz), tc=np.mean(log_qz - log_prod),
                dimwise=np.mean(log_prod - log_pz))


def np_dip(mean, log_var, kind, lod, ld):
    mean = mean.astype(np.float64)
    cov = np.cov(mean, rowvar=False, bias=True)
    if kind == "ii":
        cov = cov + np.diag(np.exp(log_var.astype(np.float64)).mean(0))
    off = cov - np.diag(np.diag(cov))
    return lod * (off**2).sum() + ld * ((np.diag(cov) - 1) ** 2).sum()


def run(objective, x, step=0):
    kwargs = {k: v for k, v in x.items() if k != "tc_logits"}
    if objective.tc_estimator == "discriminator":
        kwargs["tc_logits"] = x["tc_logits"]
    out = M.compute_loss(objective, step=tf.constant(step), dataset_size=N_DATA, **kwargs)
    return {k: v.numpy() for k, v in out.items()}


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=1e-5, atol=1e-5)


def expected_loss(method, x, w=1.0, step=0, **h):
    t = np_terms(x, estimator=h.get("estimator", "mss"))
    if method == "vae":
        return t["recon"] + w * t["kl"]
    if method == "beta_vae_h":
        return t["recon"] + w * h["beta"] * t["kl"]
    if method == "beta_vae_b":
        c = h["c_init"] + (h["c_final"] - h["c_init"]) * min(step / h["c_steps"], 1.0)
        return t["recon"] + h["capacity_weight"] * abs(t["kl"] - c)
    if method == "factor_vae":
        lg = x["tc_logits"].astype(np.float64)
        return t["recon"] + w * (t["kl"] + h["tc_weight"] * np.mean(lg[:, 0] - lg[:, 1]))
    if method == "beta_tcvae":
        return t["recon"] + w * (h["alpha"] * t["mi"] + h["beta"] * t["tc"] + h["gamma"] * t["dimwise"])
    kind = "i" if method == "dip_vae_i" else "ii"
    return t["recon"] + w * (t["kl"] + np_dip(x["mean"], x["log_var"], kind, h["lambda_od"], h["lambda_d"]))


CASES = [
    ("vae", {}),
    ("beta_vae_h", {"beta": 4.0}),
    ("beta_vae_h", {"beta": 50.0}),
    ("beta_vae_b", {"c_init": 0.0, "c_final": 25.0, "c_steps": 100_000, "capacity_weight": 100.0}),
    ("beta_vae_b", {"c_init": 0.5, "c_final": 2.0, "c_steps": 10, "capacity_weight": 30.0}),
    ("factor_vae", {"tc_weight": 6.4}),
    ("beta_tcvae", {"alpha": 1.0, "beta": 6.4, "gamma": 1.0, "estimator": "mss"}),
    ("beta_tcvae", {"alpha": 0.5, "beta": 3.0, "gamma": 2.0, "estimator": "mws"}),
    ("dip_vae_i", {"lambda_od": 10.0, "lambda_d": 100.0}),
    ("dip_vae_ii", {"lambda_od": 10.0, "lambda_d": 10.0}),
]


@pytest.mark.parametrize("method,hparams", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
@pytest.mark.parametrize("step", [0, 3, 40])
def test_loss_matches_numpy(method, hparams, step):
    x = fixed_batch()
    objective = M.make_objective(method, reg_anneal_steps=20, **hparams)
    out = run(objective, x, step)
    w = 1.0 if method == "beta_vae_b" else min(step / 20, 1.0)
    close(out["loss"], expected_loss(method, x, w=w, step=step, **hparams))
    t = np_terms(x, estimator=hparams.get("estimator", "mss"))
    close(out["reconstruction"], t["recon"])
    close(out["kl"], t["kl"])
    close(out["kl_per_latent"], t["kl_latent"])
    close(out["elbo"], -(t["recon"] + t["kl"]))
    close(out["index_code_mi"], t["mi"])
    close(out["dimwise_kl"], t["dimwise"])
    if method == "factor_vae":
        lg = x["tc_logits"]
        close(out["total_correlation"], np.mean(lg[:, 0].astype(np.float64) - lg[:, 1]))
    else:
        close(out["total_correlation"], t["tc"])
    close(out["regularisation_weight"], min(step / 20, 1.0))
    assert set(out) == {"loss", "reconstruction", "kl", "kl_per_latent", "index_code_mi",
                        "total_correlation", "dimwise_kl", "elbo", "capacity", "dip",
                        "regularisation_weight"}


def test_equal_weights_beta_tcvae_equals_vae_in_expectation():
    """alpha = beta = gamma = 1 with MSS telescopes to mean(log q(z|x) − log p(z)), the one-sample KL."""
    x = fixed_batch(b=16, d=3, seed=1)
    out = run(M.make_objective("beta_tcvae", beta=1.0), x)
    z, mean, lv = (x[k].astype(np.float64) for k in ("z", "mean", "log_var"))
    one_sample = np.mean((-0.5 * (lv + (z - mean) ** 2 / np.exp(lv)) + 0.5 * z**2).sum(1))
    close(out["loss"] - out["reconstruction"], one_sample)


def test_schedules():
    obj = M.make_objective("beta_vae_b", c_init=1.0, c_final=5.0, c_steps=8, reg_anneal_steps=4)
    caps = [float(M.capacity_at(obj, s)) for s in (0, 2, 8, 100)]
    assert caps == pytest.approx([1.0, 2.0, 5.0, 5.0])
    assert float(M.capacity_at(M.make_objective("vae"), 5)) == 0.0
    assert float(M.capacity_at(M.make_objective("beta_vae_b", c_steps=0), 0)) == 25.0
    weights = [float(M.regularisation_weight(obj, s)) for s in (0, 1, 4, 9)]
    assert weights == pytest.approx([0.0, 0.25, 1.0, 1.0])
    assert float(M.regularisation_weight(M.make_objective("vae"), 0)) == 1.0
    # beta_vae_b's loss does not use the warm-up: at step 0 the capacity term is fully weighted.
    x = fixed_batch()
    out = run(obj, x, step=0)
    t = np_terms(x)
    close(out["loss"], t["recon"] + 100.0 * abs(t["kl"] - 1.0))
    close(out["capacity"], 1.0)


def test_method_table_defaults():
    assert M.METHODS == ("vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae",
                         "dip_vae_i", "dip_vae_ii")
    got = {m: M.make_objective(m) for m in M.METHODS}
    assert (got["vae"].alpha, got["vae"].beta, got["vae"].gamma) == (1, 1, 1)
    assert (got["beta_vae_h"].alpha, got["beta_vae_h"].beta, got["beta_vae_h"].gamma) == (4, 4, 4)
    assert got["beta_vae_b"].capacity == M.Capacity(0.0, 25.0, 100_000, 100.0)
    assert (got["factor_vae"].alpha, got["factor_vae"].beta, got["factor_vae"].gamma) == (1, 7.4, 1)
    assert got["factor_vae"].tc_estimator == "discriminator"
    assert (got["beta_tcvae"].alpha, got["beta_tcvae"].beta, got["beta_tcvae"].gamma) == (1, 6.4, 1)
    assert got["beta_tcvae"].tc_estimator == "mss"
    assert got["dip_vae_i"].dip == M.DIP("i", 10.0, 100.0)
    assert got["dip_vae_ii"].dip == M.DIP("ii", 10.0, 10.0)
    assert M.make_objective("dip_vae_i", lambda_od=2.0).dip.lambda_d == 20.0
    for obj in got.values():
        assert obj.reg_anneal_steps == 0
        assert M.Objective.from_dict(json.loads(json.dumps(obj.to_dict()))) == obj


@pytest.mark.parametrize("method,hparams,message", [
    ("beta_vae", {}, "Unknown method 'beta_vae'; choose one of vae, beta_vae_h"),
    ("beta_vae_h", {"gamma": 2.0}, "gamma is not a hyper-parameter of beta_vae_h; beta_vae_h takes: "
                                   "beta, reg_anneal_steps, reg_anneal_terms"),
    ("beta_vae_h", {"beta": 0.0}, r"beta must be > 0 for beta_vae_h, got 0.0"),
    ("beta_tcvae", {"beta": 0.0}, r"beta must be > 0 for beta_tcvae"),
    ("beta_vae_h", {"beta": -1.0}, "beta must be"),
    ("beta_vae_b", {"c_steps": -5}, "c_steps must be an integer >= 0"),
    ("beta_vae_b", {"capacity_weight": 0}, "capacity_weight must be"),
    ("factor_vae", {"tc_weight": float("nan")}, "tc_weight must be"),
    ("beta_tcvae", {"estimator": "exact"}, "unknown estimator 'exact'; valid: mss, mws"),
    ("dip_vae_ii", {"lambda_od": -1.0}, "lambda_od must be"),
    ("vae", {"reg_anneal_steps": -1}, "reg_anneal_steps must be an integer >= 0"),
    ("vae", {"reg_anneal_steps": 2.5}, "reg_anneal_steps must be an integer >= 0"),
])
def test_invalid_hparams_raise_one_clear_line(method, hparams, message):
    with pytest.raises(ValueError, match=message) as info:
        M.make_objective(method, **hparams)
    assert "\n" not in str(info.value)


def test_objective_validation_and_missing_logits():
    with pytest.raises(ValueError, match="alpha == beta == gamma"):
        M.Objective("vae", alpha=1.0, beta=2.0, gamma=1.0)
    with pytest.raises(ValueError, match="unknown keys"):
        M.Objective.from_dict({"method": "vae", "betaa": 1.0})
    with pytest.raises(ValueError, match="tc_logits are required"):
        x = fixed_batch()
        M.compute_loss(M.make_objective("factor_vae"), reconstruction=x["reconstruction"],
                       mean=x["mean"], log_var=x["log_var"], z=x["z"], step=0, dataset_size=N_DATA)


@pytest.mark.parametrize("method", M.METHODS)
def test_compiles_under_xla_with_gradients(method):
    x = fixed_batch(b=16, d=5, seed=2)
    objective = M.make_objective(method, reg_anneal_steps=10)
    logits = x["tc_logits"] if method == "factor_vae" else None

    @tf.function(jit_compile=True)
    def step_fn(mean, log_var, eps, step):
        with tf.GradientTape() as tape:
            tape.watch([mean, log_var])
            z = mean + tf.exp(0.5 * log_var) * eps
            out = M.compute_loss(objective, reconstruction=x["reconstruction"], mean=mean,
                                 log_var=log_var, z=z, step=step, dataset_size=N_DATA,
                                 tc_logits=logits)
        return out, tape.gradient(out["loss"], [mean, log_var])

    eps = (x["z"] - x["mean"]) / np.exp(0.5 * x["log_var"])
    out, grads = step_fn(tf.constant(x["mean"]), tf.constant(x["log_var"]), tf.constant(eps),
                         tf.constant(7))
    eager = run(objective, x, step=7)
    np.testing.assert_allclose(out["loss"].numpy(), eager["loss"], rtol=1e-5)
    assert all(np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0) for g in grads)


def test_mixed_precision_inputs_give_float32():
    x = fixed_batch()
    objective = M.make_objective("beta_tcvae")
    out = M.compute_loss(objective, step=tf.constant(0), dataset_size=N_DATA,
                         **{k: tf.cast(v, tf.bfloat16) for k, v in x.items() if k != "tc_logits"})
    assert all(v.dtype == tf.float32 for v in out.values())
    ref = run(objective, {k: tf.cast(tf.cast(v, tf.bfloat16), tf.float32).numpy()
                          for k, v in x.items()})
    np.testing.assert_allclose(out["loss"].numpy(), ref["loss"], rtol=1e-5)


def test_discriminator_logit_convention_matches_softmax_ratio():
    """TC estimate = mean log(p_real / p_perm) of the softmax: the density-ratio trick."""
    lg = fixed_batch()["tc_logits"].astype(np.float64)
    ls = log_softmax(lg, axis=1)
    out = run(M.make_objective("factor_vae", tc_weight=1.0), fixed_batch())
    close(out["total_correlation"], np.mean(ls[:, 0] - ls[:, 1]))


# reg_anneal_terms="reference": the terms the poster's code (disvae/models/losses.py) multiplies by
# its anneal_reg, per method; the others keep weight 1.
REFERENCE_ANNEALED = {"vae": {"kl"}, "beta_vae_h": {"kl"}, "beta_vae_b": set(),
                      "factor_vae": {"total_correlation"}, "beta_tcvae": {"dimwise_kl"}}


def expected_reference_loss(method, x, w, step, **h):
    """The reference's loss in closed form (BetaHLoss, BetaBLoss, FactorKLoss, BtcvaeLoss)."""
    t = np_terms(x, estimator=h.get("estimator", "mss"))
    if method in ("vae", "beta_vae_h"):
        return t["recon"] + w * h.get("beta", 1.0) * t["kl"]
    if method == "factor_vae":
        lg = x["tc_logits"].astype(np.float64)
        return t["recon"] + t["kl"] + w * h["tc_weight"] * np.mean(lg[:, 0] - lg[:, 1])
    if method == "beta_tcvae":
        return t["recon"] + h["alpha"] * t["mi"] + h["beta"] * t["tc"] + w * h["gamma"] * t["dimwise"]
    return expected_loss(method, x, step=step, **h)  # beta_vae_b: only its capacity anneals


@pytest.mark.parametrize("method,hparams", [c for c in CASES if c[0] in REFERENCE_ANNEALED],
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("step", [0, 5, 40])
def test_reference_anneal_scales_only_the_reference_terms(method, hparams, step):
    x = fixed_batch()
    objective = M.make_objective(method, reg_anneal_steps=20, reg_anneal_terms="reference", **hparams)
    w = min(step / 20, 1.0)
    weights = {k: float(v) for k, v in M.anneal_weights(objective, step).items()}
    assert weights == {k: pytest.approx(w if k in REFERENCE_ANNEALED[method] else 1.0)
                       for k in M.REGULARISER_TERMS}
    out = run(objective, x, step)
    close(out["loss"], expected_reference_loss(method, x, w, step, **hparams))
    close(out["regularisation_weight"], w)
    # "all" scales every term: during the warm-up (w < 1) the two schedules differ exactly where the
    # reference keeps a term at weight 1 (factor_vae's KL, beta_tcvae's MI and TC).
    all_out = run(M.make_objective(method, reg_anneal_steps=20, **hparams), x, step)
    close(all_out["loss"], expected_loss(method, x, w=1.0 if method == "beta_vae_b" else w, step=step,
                                         **hparams))
    differs = method in ("factor_vae", "beta_tcvae") and w < 1
    assert (abs(float(out["loss"]) - float(all_out["loss"])) > 1e-3) == differs


def test_anneal_terms_validation():
    for bad, message in [("some", "reg_anneal_terms must be one of all, reference, got 'some'"),
                         ("reference", "reg_anneal_terms=reference is the poster's code's schedule, "
                                       "which has no dip_vae_i; use all")]:
        with pytest.raises(ValueError, match=message) as info:
            M.make_objective("dip_vae_i", reg_anneal_terms=bad)
        assert "\n" not in str(info.value)
    objective = M.make_objective("factor_vae", reg_anneal_terms="reference")
    assert M.Objective.from_dict(json.loads(json.dumps(objective.to_dict()))) == objective
    assert M.make_objective("vae").reg_anneal_terms == "all"
