"""MIG, MMIG and AAM on hand-made MI matrices; count-based mutual information against brute force."""

import itertools
import math

import numpy as np
import pytest

from tfdisvae import metrics


def test_aam_is_one_for_one_latent_per_factor_and_zero_for_an_equal_share():
    one_each = np.array([[0.0, 2.0, 0.0], [1.5, 0.0, 0.0]])
    assert metrics.aam(one_each) == pytest.approx(1.0)
    shared = np.array([[1.0, 1.0, 0.0], [0.0, 0.7, 0.7]])
    assert metrics.aam(shared) == pytest.approx(0.0)


def test_aam_hand_computed():
    # factor 0: sorted 0.1, 0.3, 1.0 -> (1.0 - 0.4) / 1.0 = 0.6; factor 1: (2 - 0.5)/2 = 0.75
    mi = np.array([[0.3, 1.0, 0.1], [0.0, 0.5, 2.0]])
    assert metrics.aam_per_factor(mi) == pytest.approx([0.6, 0.75])
    assert metrics.aam(mi) == pytest.approx(0.675)
    # a factor nobody knows scores 0; others more than the best one together: 0 (clipped)
    assert metrics.aam_per_factor(np.array([[0.0, 0.0, 0.0], [1.0, 0.8, 0.8]])) == pytest.approx([0, 0])
    # a code that ignores its input: one latent's estimate is round-off above 0, the rest 0. Without
    # the floor the ratio would be a perfect 1 (the beta-VAE_B run of the poster study at 20k steps).
    round_off = np.array([[1.7e-6, 0.0, 0.0], [0.0, 4e-4, 0.0]])
    assert metrics.aam_per_factor(round_off) == pytest.approx([0, 0])
    assert metrics.aam_per_factor(round_off, negligible=0.0) == pytest.approx([1, 1])
    assert metrics.aam_per_factor(np.array([[2e-3, 0.0, 0.0]])) == pytest.approx([1])


def test_mig_hand_computed():
    mi = np.array([[0.3, 1.0, 0.1], [0.0, 0.5, 2.0]])
    entropy = np.array([math.log(3), math.log(8)])
    expected = ((1.0 - 0.3) / math.log(3) + (2.0 - 0.5) / math.log(8)) / 2
    assert metrics.mig(mi, entropy) == pytest.approx(expected)
    # independent factors: MMIG == MIG; a dependence shrinks the normaliser
    assert metrics.mmig(mi, entropy) == pytest.approx(expected)
    factor_mi = np.array([[math.log(3), 0.2], [0.2, math.log(8)]])
    hand = ((0.7 / (math.log(3) - 0.2)) + (1.5 / (math.log(8) - 0.2))) / 2
    assert metrics.mmig(mi, entropy, factor_mi) == pytest.approx(hand)


def test_scores_invariant_to_permuting_latents():
    rng = np.random.default_rng(0)
    mi = rng.uniform(0, 1, size=(4, 7))
    entropy = rng.uniform(1, 2, size=4)
    perm = rng.permutation(7)
    assert metrics.mig(mi[:, perm], entropy) == pytest.approx(metrics.mig(mi, entropy))
    assert metrics.aam(mi[:, perm]) == pytest.approx(metrics.aam(mi))


def test_bad_matrices_are_named():
    with pytest.raises(ValueError, match="at least 2 latents"):
        metrics.mig(np.ones((2, 1)), [1, 1])
    with pytest.raises(ValueError, match="one entry per factor"):
        metrics.mig(np.ones((2, 3)), [1.0])
    with pytest.raises(ValueError, match="constant factor"):
        metrics.mig(np.ones((2, 3)), [1.0, 0.0])


def _brute_mi(a, b):
    n = len(a)
    total = 0.0
    for x, y in set(zip(a.tolist(), b.tolist(), strict=True)):
        pxy = sum(1 for i in range(n) if a[i] == x and b[i] == y) / n
        px = sum(1 for i in range(n) if a[i] == x) / n
        py = sum(1 for i in range(n) if b[i] == y) / n
        total += pxy * math.log(pxy / (px * py))
    return total


def test_discrete_mutual_information_equals_brute_force_counts():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, size=60)
    b = (a + rng.integers(0, 2, size=60)) % 5
    assert metrics.discrete_mutual_information(a, b) == pytest.approx(_brute_mi(a, b), abs=1e-12)
    assert metrics.discrete_entropy(a) == pytest.approx(_brute_mi(a, a), abs=1e-12)


def test_mig_discrete_equals_brute_force_on_small_inputs():
    rng = np.random.default_rng(4)
    factors = np.stack([rng.integers(0, 3, 80), rng.integers(0, 4, 80)], axis=1)
    codes = np.stack([factors[:, 0] + 0.3 * rng.standard_normal(80), rng.standard_normal(80),
                      factors[:, 1] * 0.5 + 0.2 * rng.standard_normal(80)], axis=1)
    bins = 5
    # the binning by hand: equal-width bins over each latent's range, the maximum in the last bin
    binned = np.zeros(codes.shape, int)
    for j in range(3):
        lo, hi = codes[:, j].min(), codes[:, j].max()
        binned[:, j] = np.minimum(((codes[:, j] - lo) / (hi - lo) * bins).astype(int), bins - 1)
    mi = np.array([[_brute_mi(binned[:, j], factors[:, k]) for k in range(2)] for j in range(3)])
    gaps = [np.sort(mi[:, k])[-1] - np.sort(mi[:, k])[-2] for k in range(2)]
    expected = np.mean([gaps[k] / _brute_mi(factors[:, k], factors[:, k]) for k in range(2)])
    got = metrics.mig_discrete(codes, factors, num_bins=bins)["mig_discrete"]
    assert got == pytest.approx(expected, abs=1e-12)
    assert got > 0.1


def test_factor_mutual_information_of_a_product_grid_is_diagonal():
    grid = np.array(list(itertools.product(range(3), range(4))))
    fmi = metrics.factor_mutual_information(grid)
    assert np.allclose(fmi, np.diag([math.log(3), math.log(4)]), atol=1e-12)
