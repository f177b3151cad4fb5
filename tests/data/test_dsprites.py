"""The dSprites renderer against the grid's own logic and the real data set's measured geometry.

The figures pinned here (issue 14, fitted to real dSprites images) are the data set's; see docs/data.md.
"""

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
    # Square of scale 1 at orientation 0, posX = posY = 0: centre 16 px, half-side 9.6 px, so the pixel
    # centres 6.5 .. 25.5 are inside: rows and columns 6..25, area 20² = 400.
    image = render([0, 5, 0, 0, 0])[0]
    expected = np.zeros((64, 64), np.uint8)
    expected[6:26, 6:26] = 1
    np.testing.assert_array_equal(image, expected)


def _stratified_classes(position_step=4):
    """Every shape, scale and orientation at an evenly spaced subset of the positions."""
    sizes = (3, 6, 40, 32 // position_step, 32 // position_step)
    classes = dsprites.grid_classes(sizes)
    classes[:, 3:] *= position_step
    return classes


def test_data_set_mean_pixel_and_per_image_std_are_the_real_ones():
    # Real dSprites: mean pixel 0.042494, mean per-image standard deviation 0.19517. Area barely depends
    # on position, so every shape x scale x orientation at 64 positions stands for the grid.
    p = render(_stratified_classes()).mean(axis=(1, 2))
    assert abs(p.mean() / 0.042494 - 1) < 0.01, p.mean()
    per_image_std = np.sqrt(p * (1 - p)).mean()  # the std of a binary image with on-fraction p
    assert abs(per_image_std / 0.19517 - 1) < 0.01, per_image_std


@pytest.mark.parametrize("shape, scale, area", [
    (0, 1.0, 19.2 ** 2),  # square of side 19.2·scale
    (0, 0.7, (19.2 * 0.7) ** 2),
    (1, 1.0, np.pi * 12.75 * 7.2),  # ellipse, semi-axes 12.75·scale and 7.2·scale: about 292 px real
    (2, 0.9, 184.0),  # heart: about 184 px in the real data set
])
def test_mean_area_over_orientations_and_positions(shape, scale, area):
    classes = _stratified_classes()
    classes = classes[(classes[:, SHAPE] == shape)
                      & (classes[:, SCALE] == int(round((scale - 0.5) * 10)))]
    mean_area = render(classes).sum(axis=(1, 2)).mean()
    assert abs(mean_area - area) < 0.015 * area, (mean_area, area)


def _boxes(images):
    """(rows, columns) of each image's bounding box, [n, 2]."""
    rows, cols = images.any(axis=2), images.any(axis=1)
    height = 64 - rows[:, ::-1].argmax(axis=1) - rows.argmax(axis=1)
    width = 64 - cols[:, ::-1].argmax(axis=1) - cols.argmax(axis=1)
    return np.stack([height, width], axis=1)


@pytest.mark.parametrize("shape, scale_class, extent, real_box", [
    (0, 2, (13.44, 13.44), (14, 14)),  # 0.7 square: side 19.2·0.7
    (1, 5, (14.4, 25.5), (15, 25)),  # scale-1 ellipse: 2·7.2 tall, 2·12.75 wide
    (2, 4, (0.9 * 18.12, 0.9 * 19.18), (17, 17)),  # 0.9 heart: tip to lobe tops, lobe to lobe
])
def test_upright_bounding_boxes(shape, scale_class, extent, real_box):
    # Over every position at orientation 0, a box side is the continuous extent rounded down or up
    # (one less where the heart's tip is thinner than a pixel), and the real data set's box is among them.
    classes = np.array([[shape, scale_class, 0, x, y] for x in range(32) for y in range(32)])
    boxes = _boxes(render(classes))
    for axis in (0, 1):
        lowest = int(np.floor(extent[axis])) - (shape == 2 and axis == 0)
        assert set(np.unique(boxes[:, axis])) <= set(range(lowest, int(np.ceil(extent[axis])) + 1))
    assert any(tuple(b) == real_box for b in boxes.tolist())


def test_centre_law_over_the_grid():
    # Squares and ellipses are symmetric about the sprite centre: their centroid is 16 + 32·pos px in
    # x (columns) and y (rows, downward), over every scale, orientation and position.
    classes = _stratified_classes(position_step=1)[::7]
    classes = classes[classes[:, SHAPE] < 2]
    com = centre_of_mass(render(classes))
    expected = 16 + 32 * classes[:, [POS_X, POS_Y]] / 31
    assert np.abs(com - expected).max() < 0.5


def test_upright_heart_box_sits_above_the_centre():
    # The heart's bounding box is centred on the position, then raised by 0.26·scale px (vertically the
    # pixel box may lose the tip's row, so it sits up to 0.75 px higher).
    classes = np.array([[2, s, 0, x, y] for s in range(6) for x in range(0, 32, 5) for y in range(0, 32, 5)])
    images = render(classes)
    rows, cols = images.any(axis=2), images.any(axis=1)
    top, bottom = rows.argmax(axis=1), 63 - rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), 63 - cols[:, ::-1].argmax(axis=1)
    centre = 16 + 32 * classes[:, [POS_X, POS_Y]] / 31
    scale = np.linspace(0.5, 1, 6)[classes[:, SCALE]]
    assert np.abs((left + right + 1) / 2 - centre[:, 0]).max() <= 0.5
    assert np.abs((top + bottom + 1) / 2 - (centre[:, 1] - 0.26 * scale)).max() <= 0.75


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
            # It travels about 32 px (16 + 32·pos), the other coordinate stays put.
            assert abs(com[-1, axis] - com[0, axis] - 32) < 1.0
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
    assert np.ptp(cols) > 1.5 * np.ptp(rows)
    rows, cols = np.nonzero(quarter)
    assert np.ptp(rows) > 1.5 * np.ptp(cols)
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
