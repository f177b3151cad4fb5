"""IRS, the unsupervised scores, the downstream tasks, fairness and UDR: closed forms, synthetic truth
(codes = factors, rotations, noise) and parity with straight re-derivations of disentanglement_lib's
formulas on tiny arrays."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from metrics_synthetic_truth import (
    SIZES,
    grid_factors,
    identity_fn,
    make_data,
    noise_fn,
    rotation_fn,
)

from tfdisvae import metrics
from tfdisvae.metrics import downstream, sampling
from tfdisvae.metrics.fairness import fairness_aggregates, fairness_matrices, inter_group_fairness
from tfdisvae.metrics.mig import discrete_entropy
from tfdisvae.metrics.udr import relative_strength

K = len(SIZES)
DATA = make_data()
CHANCE = float(np.mean([1.0 / s for s in SIZES]))   # mean over factors of 1/|V_k|


def _dlib_histogram(x, num_bins=20):
    """disentanglement_lib's _histogram_discretize, on [n, D] (its arrays are [D, n])."""
    return np.stack([np.digitize(c, np.histogram(c, num_bins)[1][:-1]) for c in x.T], axis=1)


def entangled_fn(sizes=SIZES):
    """Identity codes except latent 0 = (f0 + f1) scaled: factor 0 readable only together with z1."""
    base = identity_fn(sizes)

    def fn(images):
        codes = base(images)
        codes[:, 0] = codes[:, 0] + codes[:, 1]
        return codes
    return fn


# ------------------------------------------------------------------------------------------------- IRS
def _dlib_irs(gen_factors, latents, q=0.99):
    """scalable_disentanglement_score, loop for loop (gen_factors [n, K] discrete, latents [n, L])."""
    max_dev = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum = np.zeros([latents.shape[1], gen_factors.shape[1]])
    for i in range(gen_factors.shape[1]):
        values = np.unique(gen_factors[:, i])
        for v in values:
            match = gen_factors[:, i] == v
            diffs = np.abs(latents[match, :] - np.mean(latents[match, :], axis=0))
            cum[:, i] += np.percentile(diffs, q=q * 100, axis=0)
        cum[:, i] /= len(values)
    scores = (1.0 - cum / max_dev[:, None]).max(axis=1)
    return np.average(scores, weights=max_dev)


def test_irs_hand_computed_on_a_2x2_grid():
    # z0 = f0: robust to f1 (score 1, max deviation 0.5); z1 = f0 + f1: each class of either factor
    # leaves a deviation of 0.5 of its max 1 (score 0.5); weighted: (1·0.5 + 0.5·1) / 1.5 = 2/3
    factors = grid_factors((2, 2))
    codes = np.stack([factors[:, 0], factors[:, 0] + factors[:, 1]], axis=1).astype(float)
    assert metrics.irs(codes, factors) == {"irs": pytest.approx(2 / 3), "irs_nonconstant_dims": 2.0}
    # a constant latent is dropped; all constant: 0
    padded = np.concatenate([codes, np.full((4, 1), 3.0)], axis=1)
    assert metrics.irs(padded, factors)["irs"] == pytest.approx(2 / 3)
    assert metrics.irs(np.ones((4, 2)), factors) == {"irs": 0.0, "irs_nonconstant_dims": 0.0}


def test_irs_matches_disentanglement_libs_formula_and_its_factor_binning():
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 40, 300), rng.integers(0, 32, 300), rng.integers(0, 3, 300)], 1)
    codes = factors @ rng.standard_normal((3, 4)) + rng.standard_normal((300, 4))
    expected = _dlib_irs(_dlib_histogram(factors), codes)
    assert metrics.irs(codes, factors)["irs"] == pytest.approx(expected, abs=1e-12)
    # the binning matters: 40 classes fall into 20 groups, so the unbinned score differs
    assert _dlib_irs(factors, codes) != pytest.approx(expected, abs=1e-6)
    # invariant to a common rescaling / shift of the codes and to permuting latents
    perm = [2, 0, 3, 1]
    assert metrics.irs(5.0 * codes[:, perm] - 2.0, factors)["irs"] == pytest.approx(expected, abs=1e-12)


def test_irs_on_synthetic_truth():
    scores = {name: metrics.compute_irs(DATA, fn, seed=0, num_train=1500)["irs"]
              for name, fn in {"factors": identity_fn(), "rotated": rotation_fn(math.pi / 6),
                               "noise": noise_fn()}.items()}
    assert scores["factors"] == pytest.approx(1.0)
    assert scores["noise"] + 0.1 < scores["rotated"] < scores["factors"] - 0.1


# --------------------------------------------------------------------------------------- unsupervised
def test_gaussian_wasserstein_correlation_closed_form_and_disentanglement_libs_formula():
    rng = np.random.default_rng(0)
    rho = 0.6
    codes = rng.multivariate_normal([0, 0], [[1.0, rho], [rho, 1.0]], size=200_000)
    # W2² between N(0, [[1, ρ], [ρ, 1]]) and N(0, I): 4 − 2(√(1+ρ) + √(1−ρ))
    exact = 4.0 - 2.0 * (math.sqrt(1 + rho) + math.sqrt(1 - rho))
    assert metrics.gaussian_wasserstein_correlation(codes) == pytest.approx(exact, abs=2e-3)
    small = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 3))
    cov = np.cov(small.T)
    dlib = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])).real
    assert metrics.gaussian_wasserstein_correlation(small) == pytest.approx(dlib, abs=1e-9)
    out = metrics.unsupervised(small)
    assert out["gaussian_wasserstein_correlation_norm"] == pytest.approx(dlib / np.trace(cov))
    # the normalised form is scale-free; independent latents score ~0
    assert metrics.unsupervised(3.0 * small)["gaussian_wasserstein_correlation_norm"] == pytest.approx(
        out["gaussian_wasserstein_correlation_norm"])
    assert metrics.gaussian_wasserstein_correlation(rng.standard_normal((100_000, 3))) < 1e-3


def test_mutual_info_score_closed_forms_and_sklearn_parity():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(1)
    z = rng.standard_normal((400, 3))
    z[:, 2] = z[:, 0] ** 3                     # a monotone copy: same bins
    binned = _dlib_histogram(z)
    m = np.array([[mutual_info_score(binned[:, a], binned[:, b]) for b in range(3)] for a in range(3)])
    np.fill_diagonal(m, 0)
    assert metrics.mutual_info_score(z) == pytest.approx(m.sum() / 6, abs=1e-12)
    copy = np.stack([z[:, 1], 2.0 * z[:, 1] + 1.0], axis=1)   # I = H of the binned latent
    assert metrics.mutual_info_score(copy) == pytest.approx(discrete_entropy(binned[:, 1]))
    assert metrics.mutual_info_score(rng.standard_normal((50_000, 2))) < 0.01
    with pytest.raises(ValueError, match="at least 2 latents"):
        metrics.mutual_info_score(z[:, :1])


# ---------------------------------------------------------------------------------- downstream tasks
def test_downstream_task_matches_disentanglement_libs_loop():
    import warnings

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    rng = np.random.default_rng(2)
    factors = np.stack([rng.integers(0, 3, 160), rng.integers(0, 4, 160)], axis=1)
    codes = factors + 0.7 * rng.standard_normal((160, 2))
    train, test = slice(0, 100), slice(100, 160)
    got = metrics.downstream_task(codes[train], factors[train], codes[test], factors[test], "logistic")
    acc = []
    warnings.filterwarnings("ignore", category=FutureWarning)
    for k in range(2):
        model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))   # disentanglement_lib's call
        model.fit(codes[train], factors[train, k])
        acc.append((np.mean(model.predict(codes[train]) == factors[train, k]),
                    np.mean(model.predict(codes[test]) == factors[test, k])))
    acc = np.array(acc)
    assert got == pytest.approx({
        "downstream_logistic_100_mean_train_accuracy": acc[:, 0].mean(),
        "downstream_logistic_100_mean_test_accuracy": acc[:, 1].mean(),
        "downstream_logistic_100_min_train_accuracy": acc[:, 0].min(),
        "downstream_logistic_100_min_test_accuracy": acc[:, 1].min()}, abs=1e-12)
    with pytest.raises(ValueError, match="predictor must be one of"):
        metrics.downstream_task(codes, factors, codes, factors, "svm")


def test_downstream_task_on_synthetic_truth():
    def run(fn, predictor, **options):
        return metrics.compute_downstream_task(DATA, fn, seed=0, predictor=predictor,
                                               num_train=(10, 300), num_test=300, **options)

    ident = run(identity_fn(), "logistic", Cs=4, max_iter=200)   # fewer fits than the default, for time
    assert set(ident) == {f"downstream_logistic_{n}_{s}_{p}_accuracy" for n in (10, 300)
                          for s in ("mean", "min") for p in ("train", "test")}
    assert ident["downstream_logistic_300_min_test_accuracy"] == 1.0
    assert ident["downstream_logistic_10_mean_test_accuracy"] < 0.9   # 10 points are too few
    gbt = run(identity_fn(), "gbt", n_estimators=10)
    assert gbt["downstream_gbt_300_min_test_accuracy"] == 1.0
    noise = run(noise_fn(), "gbt", n_estimators=10)
    assert noise["downstream_gbt_300_mean_test_accuracy"] < CHANCE + 0.08
    assert noise["downstream_gbt_300_mean_train_accuracy"] > 0.5   # it fits the noise, cannot transfer


def _dlib_reduced(codes_tr, y_tr, codes_te, y_te, remove, make):
    """reduced_downstream_task's loop as disentanglement_lib writes it (importances recomputed)."""
    red_test, other_test = [], []
    for f in range(y_tr.shape[1]):
        a, b = codes_tr.copy(), codes_te.copy()
        for _ in range(remove):
            imp = np.stack([np.abs(make().fit(a, y_tr[:, k]).feature_importances_)
                            for k in range(y_tr.shape[1])], axis=1)
            drop = np.argmax(imp[:, f])
            a, b = np.delete(a, drop, axis=1), np.delete(b, drop, axis=1)
        acc = [np.mean(make().fit(a, y_tr[:, k]).predict(b) == y_te[:, k]) for k in range(y_tr.shape[1])]
        red_test.append(acc[f])
        other_test.append(np.mean([acc[k] for k in range(len(acc)) if k != f]))
    return np.mean(red_test), np.mean(other_test)


def test_reduced_downstream_task_matches_the_loop_and_finds_the_leak():
    rng = np.random.default_rng(3)
    factors = np.stack([rng.integers(0, 3, 240), rng.integers(0, 4, 240), rng.integers(0, 2, 240)], 1)
    codes = np.concatenate([factors + 0.2 * rng.standard_normal((240, 3)),
                            (factors[:, :1] + 0.5 * rng.standard_normal((240, 1)))], axis=1)
    tr, te = slice(0, 160), slice(160, 240)
    for remove in (1, 2):
        got = metrics.reduced_downstream_task(codes[tr], factors[tr], codes[te], factors[te],
                                              num_factors_to_remove=remove, n_estimators=8)
        want = _dlib_reduced(codes[tr], factors[tr], codes[te], factors[te], remove,
                             lambda: metrics.dlib.gbt_classifier(0, n_estimators=8))
        assert got["reduced_downstream_gbt_160_mean_test_accuracy_reduced_factor"] == pytest.approx(
            want[0], abs=1e-12)
        assert got["reduced_downstream_gbt_160_mean_test_accuracy_other_factors"] == pytest.approx(
            want[1], abs=1e-12)
    # codes = factors: deleting a factor's latent leaves chance for it, the others untouched
    out = metrics.compute_reduced_downstream_task(DATA, identity_fn(), seed=0, num_train=(300,),
                                                  num_test=300, n_estimators=10)
    assert out["reduced_downstream_gbt_300_mean_test_accuracy_reduced_factor"] < CHANCE + 0.08
    assert out["reduced_downstream_gbt_300_mean_test_accuracy_other_factors"] == 1.0


def test_intervene_holds_one_other_factor_fixed_in_training_and_shifts_it_in_test():
    rng = np.random.default_rng(4)
    base = grid_factors()[rng.integers(0, 960, 500)]
    for target in range(K):
        train, test, factor, value = downstream.intervene(base, base, target, SIZES, rng)
        assert factor != target
        assert np.all(train[:, factor] == value) and np.all(test[:, factor] != value)
        keep = [k for k in range(K) if k != factor]
        assert np.array_equal(train[:, keep], base[:, keep]) and np.array_equal(test[:, keep],
                                                                               base[:, keep])


def test_strong_downstream_task_on_synthetic_truth():
    def run(fn):
        return metrics.compute_strong_downstream_task(DATA, fn, seed=0, num_train=(300,),
                                                      num_test=300, n_experiment=4, n_estimators=10)

    ident = run(identity_fn())
    assert ident["strong_downstream_gbt_300_mean_strong_test_accuracy"] == 1.0
    assert ident["strong_downstream_gbt_300_strong_generalization_gap"] == 0.0
    # factor 0 is readable only with z1: holding factor 1 fixed in training breaks it under the shift
    rng = np.random.default_rng(8)
    base_train, base_test = DATA.sample_factors(300, rng), DATA.sample_factors(300, rng)
    train_int, test_int, _, _ = downstream.intervene(base_train, base_test, 0, (4, 5, 1, 1), rng)
    for fn, low in ((identity_fn(), 1.0), (entangled_fn(), 0.7)):
        def codes(f, fn=fn):
            return sampling.represent(DATA, fn, f)
        out = metrics.strong_downstream_task(codes(base_train), base_train, codes(base_test), base_test,
                                             [(0, codes(train_int), train_int, codes(test_int),
                                               test_int)], n_estimators=10)
        assert out["strong_downstream_gbt_300_mean_test_accuracy"] == 1.0
        strong = out["strong_downstream_gbt_300_mean_strong_test_accuracy"]
        assert strong == 1.0 if low == 1.0 else strong < low


# ------------------------------------------------------------------------------------------- fairness
def _dlib_inter_group_fairness(counts):
    overall = np.sum(counts, axis=1, dtype=np.float32)
    overall /= overall.sum()
    normalized = np.array(counts, dtype=np.float32)
    per_class = np.sum(counts, axis=0)
    normalized /= np.expand_dims(per_class, 0)
    tv = np.sum(np.abs(normalized - np.expand_dims(overall, 1)), 0) / 2.0
    return np.sum(tv * per_class / per_class.sum()), np.amax(tv)


def test_inter_group_fairness_closed_forms_and_parity():
    assert inter_group_fairness(np.array([[10, 20], [30, 60]])) == pytest.approx((0.0, 0.0))
    # prediction = sensitive class: each class is 1/2 away from the pooled (1/2, 1/2)
    assert inter_group_fairness(np.eye(2) * 50) == pytest.approx((0.5, 0.5))
    # by hand: pooled (0.6, 0.4); class 0 (1, 0) -> TV 0.4 (40 points), class 1 (1/3, 2/3) -> 4/15 (60)
    counts = np.array([[40, 20], [0, 40]])
    assert inter_group_fairness(counts) == pytest.approx(
        ((0.4 * 40 + 4 / 15 * 60) / 100, 0.4))
    rng = np.random.default_rng(5)
    for _ in range(5):
        counts = rng.integers(0, 30, (4, 6))
        assert inter_group_fairness(counts) == pytest.approx(
            _dlib_inter_group_fairness(counts), abs=1e-6)


def test_fairness_aggregates_by_hand():
    m = np.array([[0.0, 0.1, 0.4], [0.2, 0.0, 0.3], [0.5, 0.6, 0.0]])
    out = fairness_aggregates(m, "p")
    assert out["p_mean_pred_mean_sens"] == pytest.approx(2.1 / 6)
    assert out["p_mean_sens_mean_pred"] == pytest.approx(2.1 / 6)
    assert out["p_max_pred_max_sens"] == pytest.approx(0.6)
    assert out["p_mean_pred_max_sens"] == pytest.approx((0.4 + 0.3 + 0.6) / 3)
    assert out["p_mean_sens_max_pred"] == pytest.approx((0.5 + 0.6 + 0.4) / 3)
    assert out["p_max_pred_mean_sens"] == pytest.approx(0.55)
    assert out["p_max_sens_mean_pred"] == pytest.approx(max(0.35, 0.35, 0.35))


def test_fairness_on_synthetic_truth():
    def run(fn):
        return metrics.compute_fairness(DATA, fn, seed=0, num_train=400, num_test_points_per_class=40,
                                        n_estimators=10)

    ident = run(identity_fn())
    assert len(ident) == 16
    assert max(ident.values()) == 0.0     # a factor's prediction ignores every other factor
    # codes (f0 + f1, f2, f3): factor 0 can only be guessed from a latent that moves with factor 1
    def mixed(images):
        return entangled_fn()(images)[:, [0, 2, 3]]

    tangled = fairness_matrices(*sampling.sample_codes(DATA, mixed, 400, np.random.default_rng(0)),
                                _interventions(mixed), n_estimators=10)[0]
    assert tangled[0, 1] > 0.1 and tangled[1, 0] > 0.05   # the clean pairs below: exactly 0
    assert tangled[2, 3] == 0.0 and tangled[2, 0] == 0.0 and tangled[3, 1] == 0.0


def _interventions(fn, m=40, seed=1):
    rng = np.random.default_rng(seed)

    def get(pair):
        _, j = pair
        base = DATA.sample_factors(m, rng)
        classes = np.repeat(base[None], SIZES[j], axis=0)
        classes[:, :, j] = np.arange(SIZES[j])[:, None]
        return sampling.represent(DATA, fn, classes.reshape(-1, K)).reshape(
            SIZES[j], m, -1)
    return get


# ------------------------------------------------------------------------------------------------ UDR
def _dlib_udr(reps, kls, correlation):
    """compute_udr_sklearn's body on representations (no sampling), loop for loop."""
    from sklearn import linear_model, preprocessing

    reps = [preprocessing.StandardScaler().fit_transform(r) * np.greater(k, 0.01)
            for r, k in zip(reps, kls, strict=True)]
    masks = [k > 0.01 for k in kls]
    n = len(reps)
    dis = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if correlation == "lasso":
                c = np.abs(linear_model.Lasso(random_state=0, alpha=0.1).fit(reps[i], reps[j]).coef_).T
            else:
                c = np.array([[scipy.stats.spearmanr(reps[i][:, a], reps[j][:, b])[0]
                               for b in range(reps[j].shape[1])] for a in range(reps[i].shape[1])])
                c = np.abs(c)
            c = c[masks[i], ...][..., masks[j]]
            with np.errstate(divide="ignore", invalid="ignore"):
                sx = np.nanmean(np.nan_to_num(np.power(np.max(c, axis=0), 2) / np.sum(c, axis=0), 0))
                sy = np.nanmean(np.nan_to_num(np.power(np.max(c, axis=1), 2) / np.sum(c, axis=1), 0))
            dis[i, j] = (sx + sy) / 2
    return np.array([np.median(np.delete(dis[:, i], i)) for i in range(n)])


def test_relative_strength_closed_forms():
    assert relative_strength(np.eye(3)) == pytest.approx(1.0)
    assert relative_strength(np.ones((2, 2))) == pytest.approx(0.5)   # an even 45° mix
    assert relative_strength(np.zeros((2, 2))) == 0.0                 # 0/0 counts as 0
    # by hand: columns (1, 0.5) -> 1/1.5 and (0, 1) -> 1; rows (1, 0) -> 1 and (0.5, 1) -> 1/1.5
    assert relative_strength(np.array([[1.0, 0.0], [0.5, 1.0]])) == pytest.approx(5 / 6)


def test_udr_matches_disentanglement_libs_procedure():
    rng = np.random.default_rng(6)
    base = rng.standard_normal((200, 4))
    reps, kls = [], []
    for m in range(3):
        mix = np.eye(4) + 0.3 * m * rng.standard_normal((4, 4))
        reps.append(base @ mix + 0.1 * rng.standard_normal((200, 4)))
        kls.append(np.array([0.5, 0.3, 0.005 if m == 1 else 0.2, 1.0]))   # model 1 has a dead latent
    for correlation in ("lasso", "spearman"):
        got = metrics.udr(reps, kls, correlation)["model_scores"]
        assert got == pytest.approx(_dlib_udr(reps, kls, correlation), abs=1e-9), correlation


def test_udr_ranks_consistent_models_above_rotated_and_noise_ones():
    rng = np.random.default_rng(7)
    factors = rng.standard_normal((1000, 3))
    kl = np.ones(3)
    perm_flip = factors[:, [2, 0, 1]] * [-2.0, 1.0, 0.5]            # the same latents, reordered
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    rotated = factors @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    # identical up to permutation, sign and scale: each standardised latent is matched by one Lasso
    # coefficient 1 − alpha = 0.9 and no other, so max² / sum = 0.9 (spearman: 1)
    same = metrics.udr([factors, perm_flip], [kl, kl])["model_scores"]
    assert same == pytest.approx([0.9, 0.9], abs=1e-3)
    assert metrics.udr([factors, perm_flip], [kl, kl], "spearman")["model_scores"] == pytest.approx(
        [1.0, 1.0], abs=0.03)
    scores = metrics.udr([factors, perm_flip, 1.001 * factors, rotated, rng.standard_normal((1000, 3))],
                         [kl] * 5, "spearman")["model_scores"]
    assert min(scores[:3]) > scores[3] > scores[4]
    # a dead latent (KL ≤ 0.01) is ignored
    dead = np.concatenate([factors, rng.standard_normal((1000, 1))], axis=1)
    with_dead = metrics.udr([dead, perm_flip], [np.array([1, 1, 1, 0.001]), kl])["model_scores"]
    assert with_dead == pytest.approx(same, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2 models"):
        metrics.udr([factors], [kl])


def test_compute_udr_from_posteriors():
    def posterior(fn, log_var=-2.0):
        return lambda images: (fn(images) * 3.0, np.full((len(images), 4), log_var))

    fns = [posterior(identity_fn())] * 3 + [posterior(noise_fn(seed=3))]
    out = metrics.compute_udr(DATA, fns, seed=0, num_data_points=300)
    assert set(out) == {"udr_lasso", "udr_lasso_pairwise", "udr_spearman", "udr_spearman_pairwise"}
    for name in ("udr_lasso", "udr_spearman"):
        assert out[name][0] == out[name][1] == out[name][2] > out[name][3] + 0.2, name
