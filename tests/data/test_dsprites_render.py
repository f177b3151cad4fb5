"""The dSprites renderer against the grid's own logic and the geometry documented in dsprites.py."""

import numpy as np
import pytest

from tfdisvae.data import dsprites
from tfdisvae.data.dsprites import FACTOR_SIZES, render

SHAPE, SCALE, ORIENT, POS_X, POS_Y = range(5)


def centre_of_mass(images):
    """(x, y) in px of pixel centres, [n, 2]; y grows downward."""
    coords = np.arange(64) + 0.5
    area = images.sum(axis=(1, 2)).astype(float)
    x = (images.sum(axis=1) * coords).sum(axis=1) / area
    y = (images.sum(axis=2) * coords).sum(axis=1) / area
    return np.stack([x, y], axis=1)


def test_whole_grid_index_factor_round_trip():
    data = dsprites.load_dsprites(source="render")
    n = data.num_examples
    assert n == 737_280 == np.prod(FACTOR_SIZES)
    factors = data.factors(np.arange(n))
    # Row-major by hand: index = (((shape·6 + scale)·40 + orientation)·32 + posX)·32 + posY.
    s, sc, o, x, y = factors.T
    np.testing.assert_array_equal((((s * 6 + sc) * 40 + o) * 32 + x) * 32 + y, np.arange(n))
    np.testing.assert_array_equal(data.index_of(factors), np.arange(n))
    assert factors.min(axis=0).tolist() == [0] * 5
    assert (factors.max(axis=0) + 1).tolist() == list(FACTOR_SIZES)


def test_latents_arrays_match_the_spec():
    values, classes = dsprites.latents_arrays()
    assert values.shape == classes.shape == (737_280, 6)
    assert values.dtype == np.float64 and classes.dtype == np.int64
    np.testing.assert_array_equal(classes[:, 0], 0)
    np.testing.assert_array_equal(values[:, 0], 1.0)
    np.testing.assert_array_equal(np.unique(values[:, 1]), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.unique(values[:, 2]), np.linspace(0.5, 1, 6))
    np.testing.assert_allclose(np.unique(values[:, 3]), np.linspace(0, 2 * np.pi, 40))
    np.testing.assert_allclose(np.unique(values[:, 4]), np.linspace(0, 1, 32))
    # posY is the fastest-moving column, shape the slowest.
    np.testing.assert_allclose(values[:3, 5], np.linspace(0, 1, 32)[:3])
    assert values[245_760, 1] == 2.0 and values[245_759, 1] == 1.0


def test_axis_aligned_square_is_the_hand_computed_block():
    # Square of scale 1 at orientation 0, posX = posY = 0: centre 11.5 px, half-side 11/sqrt(2) = 7.78 px,
    # so the pixel centres 4.5 .. 18.5 are inside: rows and columns 4..18, area 15² = 225.
    image = render([0, 5, 0, 0, 0])[0]
    expected = np.zeros((64, 64), np.uint8)
    expected[4:19, 4:19] = 1
    np.testing.assert_array_equal(image, expected)


def test_images_are_binary_uint8_and_never_empty():
    rng = np.random.default_rng(0)
    classes = np.stack([rng.integers(s, size=500) for s in FACTOR_SIZES], axis=1)
    images = render(classes)
    assert images.shape == (500, 64, 64) and images.dtype == np.uint8
    assert set(np.unique(images)) == {0, 1}
    assert images.sum(axis=(1, 2)).min() > 0


def test_area_grows_with_scale_for_every_shape():
    for shape in range(3):
        for orientation in (0, 7, 20):
            classes = [[shape, scale, orientation, 16, 16] for scale in range(6)]
            area = render(classes).sum(axis=(1, 2))
            assert np.all(np.diff(area) > 0), (shape, orientation, area)
            # area ∝ scale² up to pixelisation: the largest is about 4x the smallest.
            assert 3.0 < area[-1] / area[0] < 5.5


@pytest.mark.parametrize("moving", [POS_X, POS_Y])
def test_centre_of_mass_moves_monotonically_with_position(moving):
    for shape in range(3):
        for scale, orientation in ((0, 3), (5, 11)):
            classes = np.tile([shape, scale, orientation, 9, 22], (32, 1))
            classes[:, moving] = np.arange(32)
            com = centre_of_mass(render(classes))
            axis = 0 if moving == POS_X else 1  # posY moves the sprite down (y grows downward)
            assert np.all(np.diff(com[:, axis]) > 0), (shape, scale, com[:, axis])
            # It travels about 41 px (the documented 11.5 + 41·pos), the other coordinate stays put.
            assert abs(com[-1, axis] - com[0, axis] - 41) < 1.0
            assert np.ptp(com[:, 1 - axis]) < 0.5


def test_ellipse_and_heart_change_with_orientation():
    for shape in (1, 2):
        images = render([[shape, 5, o, 16, 16] for o in range(39)]).reshape(39, -1)
        distinct = {row.tobytes() for row in images}
        assert len(distinct) == 39, shape


def test_orientation_turns_the_ellipse_counter_clockwise():
    # Orientation 0: long axis horizontal. A quarter turn (about 9.75 of the 39 steps per 2π) makes it
    # vertical; at one step (9.2°) counter-clockwise on screen the right end rises (smaller y).
    flat, quarter, tilted = render([[1, 5, 0, 16, 16], [1, 5, 10, 16, 16], [1, 5, 1, 16, 16]])
    rows, cols = np.nonzero(flat)
    assert np.ptp(cols) > 1.8 * np.ptp(rows)
    rows, cols = np.nonzero(quarter)
    assert np.ptp(rows) > 1.8 * np.ptp(cols)
    rows, cols = np.nonzero(tilted)
    right = cols > cols.mean()
    assert rows[right].mean() < rows[~right].mean()


def test_heart_points_down_at_orientation_zero():
    heart = render([2, 5, 0, 16, 16])[0]
    rows = np.nonzero(heart)[0]
    widths = heart.sum(axis=1)[rows.min():rows.max() + 1]
    # The lobes are at the top: the upper half of the sprite is wider than the lower half.
    half = len(widths) // 2
    assert widths[:half].sum() > widths[-half:].sum()


def test_first_and_last_orientation_render_the_same_image():
    rng = np.random.default_rng(1)
    classes = np.stack([rng.integers(s, size=300) for s in FACTOR_SIZES], axis=1)
    first, last = classes.copy(), classes.copy()
    first[:, ORIENT], last[:, ORIENT] = 0, 39
    np.testing.assert_array_equal(render(first), render(last))


def test_rendering_does_not_depend_on_the_batch():
    rng = np.random.default_rng(2)
    classes = np.stack([rng.integers(s, size=5000) for s in FACTOR_SIZES], axis=1)
    together = render(classes)
    np.testing.assert_array_equal(render(classes[4090:4100]), together[4090:4100])
    np.testing.assert_array_equal(render(classes[17]), together[17:18])
    # The file's [n, 6] latents_classes (color first) are accepted too.
    with_color = np.concatenate([np.zeros((5000, 1), np.int64), classes], axis=1)
    np.testing.assert_array_equal(render(with_color[:50]), together[:50])


@pytest.mark.parametrize("classes, message", [
    ([[0, 6, 0, 0, 0]], "scale class 6"),
    ([[0, 0, 0, 0]], "shape [n, 5]"),
    ([[0.0, 0, 0, 0, 0]], "integer"),
    ([[1, 0, 0, 0, 0, 0]], "color"),
])
def test_bad_factor_classes_are_named(classes, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[").replace("]", r"\]")):
        render(np.asarray(classes))
