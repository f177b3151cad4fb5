"""disentanglement_lib's metrics on synthetic ground truth: codes = factors score ~1, noise scores ~0 (or
chance), a rotation lands in between; invariances; closed forms."""

import math

import numpy as np
import pytest
from metrics_synthetic_truth import SIZES, identity_fn, make_data, noise_fn, rotation_fn

from tfdisvae import metrics

K = len(SIZES)
DATA = make_data()
# 30°: information-based scores drop; the vote and linear-probe scores (FactorVAE, beta-VAE) only
# lose when the rotation mixes the pair evenly (45°), so they are judged on that one
FNS = {"factors": identity_fn(), "rotated": rotation_fn(math.pi / 6, noise_std=0.05),
       "rotated45": rotation_fn(math.pi / 4, noise_std=0.05), "noise": noise_fn()}
VOTE_SCORES = ("factor_vae_eval_accuracy", "beta_vae_eval_accuracy")


@pytest.fixture(scope="module")
def scores():
    out = {}
    for name, fn in FNS.items():
        r = {}
        r.update(metrics.compute_mig_discrete(DATA, fn, seed=0, num_points=2000))
        r.update(metrics.compute_factor_vae_score(DATA, fn, seed=0, num_train=400, num_eval=200,
                                                  num_variance_estimate=1000))
        r.update(metrics.compute_beta_vae_score(DATA, fn, seed=0, batch_size=16, num_train=400,
                                                num_eval=200))
        r.update(metrics.compute_dci(DATA, fn, seed=0, num_train=600, num_test=300,
                                     n_estimators=20))
        r.update(metrics.compute_sap(DATA, fn, seed=0, num_train=600, num_test=300))
        r.update(metrics.compute_modularity_explicitness(DATA, fn, seed=0, num_train=600,
                                                         num_test=300))
        out[name] = r
    return out


def test_codes_equal_to_the_factors_score_one(scores):
    s = scores["factors"]
    assert s["mig_discrete"] > 0.98
    assert s["factor_vae_eval_accuracy"] == 1.0 and s["factor_vae_unpruned_dims"] == K
    assert s["beta_vae_eval_accuracy"] == 1.0
    assert s["dci_disentanglement"] > 0.99 and s["dci_completeness"] > 0.99
    assert s["dci_informativeness_test_accuracy"] > 0.99
    assert s["modularity"] > 0.99 and s["explicitness_test"] > 0.95


def test_noise_scores_zero_or_chance(scores):
    s = scores["noise"]
    assert s["mig_discrete"] < 0.02
    assert s["factor_vae_eval_accuracy"] < 1.0 / K + 0.12
    assert s["beta_vae_eval_accuracy"] < 1.0 / K + 0.12
    assert s["dci_disentanglement"] < 0.05 and s["dci_completeness"] < 0.05
    assert s["dci_informativeness_test_accuracy"] < 0.3
    assert s["sap"] < 0.03
    assert s["explicitness_test"] < 0.56


def test_a_rotation_lands_in_between(scores):
    lo, mid, hi = scores["noise"], scores["rotated"], scores["factors"]
    for name in ("mig_discrete", "dci_disentanglement", "dci_completeness", "sap", "modularity"):
        assert lo[name] + 0.05 < mid[name] < hi[name] - 0.05, name
    for name in VOTE_SCORES:
        assert lo[name] + 0.1 < scores["rotated45"][name] < hi[name] - 0.1, name
    # the rotation keeps most of the information (only the added noise costs some), not the alignment
    assert mid["dci_informativeness_test_accuracy"] > 0.8


def _codes_factors(n=600, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, n) for s in SIZES], axis=1)
    codes = factors / (np.asarray(SIZES) - 1.0) + 0.05 * rng.standard_normal((n, K))
    codes = np.concatenate([codes, rng.standard_normal((n, 2))], axis=1)   # two nuisance latents
    return codes, factors


def test_permuting_latents_leaves_the_scores_unchanged():
    codes, factors = _codes_factors()
    codes_t, factors_t = _codes_factors(300, seed=1)
    perm = np.random.default_rng(5).permutation(codes.shape[1])
    assert metrics.mig_discrete(codes[:, perm], factors) == metrics.mig_discrete(codes, factors)
    a = metrics.sap(codes, factors, codes_t, factors_t)
    b = metrics.sap(codes[:, perm], factors, codes_t[:, perm], factors_t)
    assert a["sap"] == pytest.approx(b["sap"], abs=1e-9)
    a = metrics.dci(codes, factors, codes_t, factors_t, n_estimators=10)
    b = metrics.dci(codes[:, perm], factors, codes_t[:, perm], factors_t, n_estimators=10)
    assert a["dci_disentanglement"] == pytest.approx(b["dci_disentanglement"], abs=0.02)
    assert a["dci_completeness"] == pytest.approx(b["dci_completeness"], abs=0.02)
    # rescaling a latent: histogram MIG is unchanged (bins follow each latent's range)
    scaled = codes * np.array([3.0, 0.1, 1, 1, 1, 7.0])
    assert metrics.mig_discrete(scaled, factors)["mig_discrete"] == pytest.approx(
        metrics.mig_discrete(codes, factors)["mig_discrete"], abs=1e-9)


def test_factor_vae_score_from_hand_made_batches():
    # latent 0 is fixed when factor 0 is, latent 1 when factor 1 is; latent 2 never varies much
    rng = np.random.default_rng(0)
    global_codes = rng.standard_normal((500, 3)) * [1.0, 1.0, 0.1]
    batches = rng.standard_normal((6, 10, 3))
    index = np.array([0, 1, 0, 1, 0, 1])
    batches[index == 0, :, 0] = 0.3
    batches[index == 1, :, 1] = -0.2
    out = metrics.factor_vae_score(global_codes, batches, index, batches, index)
    # latent 2 (std 0.1) is kept (std >= 0.05) but never has the smallest relative variance
    assert out == {"factor_vae_train_accuracy": 1.0, "factor_vae_eval_accuracy": 1.0,
                   "factor_vae_unpruned_dims": 3.0}
    swapped = metrics.factor_vae_score(global_codes, batches, index, batches, 1 - index)
    assert swapped["factor_vae_eval_accuracy"] == 0.0


def _dlib_rule_factor_vae(global_codes, batches, index, num_factors):
    """disentanglement_lib's FactorVAE score re-derived: keep sqrt(var) >= 0.05, one vote per batch
    (factor, argmin over kept latents of local var / global var), majority classifier."""
    global_var = np.var(global_codes, axis=0, ddof=1)
    kept = np.sqrt(global_var) >= 0.05
    votes = np.zeros((num_factors, global_codes.shape[1]), np.int64)
    for batch, k in zip(batches, index, strict=True):
        ratio = np.var(batch, axis=0, ddof=1)[kept] / global_var[kept]
        votes[k, np.argmin(ratio)] += 1
    return np.sum(votes[np.argmax(votes, axis=0), np.arange(votes.shape[1])]) / np.sum(votes)


def test_factor_vae_prunes_on_the_standard_deviation():
    # issue 14: latents with std in (0.05, 0.22) have variance < 0.05; disentanglement_lib keeps them
    rng = np.random.default_rng(3)
    global_codes = rng.standard_normal((2000, 2)) * [0.3, 0.1]    # std 0.3 and 0.1 (variance 0.01)
    index = np.array([0, 0, 0, 0, 1, 1])
    batches = rng.standard_normal((6, 32, 2)) * [0.3, 0.1]
    batches[index == 0, :, 0] = 0.2                                # factor 0 fixes latent 0
    batches[index == 1, :, 1] = -0.1                               # factor 1 fixes latent 1
    out = metrics.factor_vae_score(global_codes, batches, index, batches, index)
    # by hand: both latents kept, each factor votes for its own latent -> 1.0; pruning on the variance
    # keeps latent 0 alone, every vote goes to it and the majority factor 0 gets 4 of 6
    assert out["factor_vae_eval_accuracy"] == 1.0 == _dlib_rule_factor_vae(global_codes, batches,
                                                                            index, 2)
    assert out["factor_vae_unpruned_dims"] == 2.0
    assert out["factor_vae_eval_accuracy"] != pytest.approx(4 / 6)
    # codes = factors scaled to latent std ~0.15 (variance ~0.02): every latent kept, score 1
    scale = 0.4
    small = metrics.compute_factor_vae_score(DATA, lambda x: scale * FNS["factors"](x), seed=0,
                                             num_train=200, num_eval=100, num_variance_estimate=1000)
    assert small["factor_vae_eval_accuracy"] == 1.0 and small["factor_vae_unpruned_dims"] == K


def test_dci_from_importance_closed_forms():
    assert metrics.dci_from_importance(np.eye(3)) == pytest.approx(
        {"dci_disentanglement": 1.0, "dci_completeness": 1.0}, abs=1e-8)
    uniform = metrics.dci_from_importance(np.ones((3, 3)))
    assert uniform == pytest.approx({"dci_disentanglement": 0.0, "dci_completeness": 0.0}, abs=1e-8)
    # one code for two factors (weights 1, 1), a second code unused: code 0 has entropy log 2 over
    # two factors (base 2) -> 0; completeness: each factor held by one code -> 1
    two = metrics.dci_from_importance(np.array([[1.0, 1.0], [0.0, 0.0]]))
    assert two["dci_disentanglement"] == pytest.approx(0.0, abs=1e-8)
    assert two["dci_completeness"] == pytest.approx(1.0, abs=1e-8)


def test_dci_fitted_in_two_processes_equals_one_process():
    codes, factors = _codes_factors(400, seed=3)
    one = metrics.dci(codes[:300], factors[:300], codes[300:], factors[300:], seed=1, n_jobs=1,
                      n_estimators=5)
    two = metrics.dci(codes[:300], factors[:300], codes[300:], factors[300:], seed=1, n_jobs=2,
                      n_estimators=5)
    assert one == two and 0.0 < one["dci_disentanglement"] <= 1.0


def test_modularity_and_gaussian_total_correlation_closed_forms():
    assert metrics.modularity(np.array([[1.0, 0.0], [0.0, 2.0]])) == pytest.approx(1.0)
    # one latent with equal information on 2 factors: 1 - 1/(1·1) = 0
    assert metrics.modularity(np.array([[1.0, 1.0], [0.0, 2.0]])) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    rho = 0.6
    cov = np.array([[1.0, rho], [rho, 1.0]])
    codes = rng.multivariate_normal([0, 0], cov, size=200_000)
    assert metrics.gaussian_total_correlation(codes) == pytest.approx(-0.5 * math.log(1 - rho**2),
                                                                      abs=0.01)
    assert metrics.active_dimensions(np.stack([codes[:, 0], 0.01 * codes[:, 1]], 1)) == 1


def test_bad_input_is_named():
    codes, factors = _codes_factors(50)
    with pytest.raises(ValueError, match="codes must be"):
        metrics.mig_discrete(codes[0], factors)
    with pytest.raises(TypeError, match="integer class indices"):
        metrics.mig_discrete(codes, factors.astype(float))
    with pytest.raises(ValueError, match="every column of factors is constant"):
        metrics.mig_discrete(codes, np.zeros_like(factors))
    from tfdisvae.data.ground_truth import ArrayImages, ImageData

    images_only = ImageData("mnist-like", ArrayImages(np.zeros((4, 8, 8, 1), np.uint8)))
    with pytest.raises(TypeError, match="ground-truth factors"):
        metrics.compute_dci(images_only, identity_fn(), seed=0)
