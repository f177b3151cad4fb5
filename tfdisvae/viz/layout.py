"""Labelled pictures: a pixel-exact image grid with a title, row and column labels (matplotlib, Agg).

The grid is pasted into the canvas unresampled (upscaled by an integer `scale`, nearest neighbour), so
the PNG holds exactly the pixels the model decoded, and `Picture.grid_box` says where. Text is drawn by
matplotlib's Agg renderer into the margins only; it never covers the grid.

    picture = Picture.from_grid(cells, row_labels=["z3  KL 2.41", ...], title="...")
    picture.save("traversals.png")     # PNG of picture.pixels, [height, width, 3] uint8
"""

from __future__ import annotations

import dataclasses
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tfdisvae.viz import grids  # noqa: E402

DPI = 100
FONT_PX = 13          # label font height in pixels (about 9.4 pt at 100 dpi)
TITLE_PX = 15
CHAR_PX = 0.62        # average character width in units of the font height (DejaVu Sans)
MARGIN = 6            # pixels of white around everything


def _text_width(text, font_px):
    return int(np.ceil(len(text) * CHAR_PX * font_px)) if text else 0


def render_text_layer(height, width, texts, background=1.0) -> np.ndarray:
    """A white [height, width, 3] uint8 canvas with text drawn at pixel positions.

    texts: (x, y, string, font_px, ha, va, weight) with (x, y) from the TOP-left corner, in pixels.
    """
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=(background,) * 3)
    canvas = FigureCanvasAgg(fig)
    for x, y, s, font_px, ha, va, weight in texts:
        fig.text(x, height - y, s, transform=None, fontsize=font_px * 72.0 / DPI, ha=ha, va=va,
                 fontweight=weight, color="black", family="DejaVu Sans")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if rgba.shape[:2] != (height, width):
        raise RuntimeError(f"matplotlib drew a {rgba.shape[:2]} canvas for a {(height, width)} layout")
    return rgba[..., :3].copy()


@dataclasses.dataclass
class GridLayout:
    """Where the cells, labels and title of a labelled grid go, in canvas pixels.

    Attributes:
      rows, cols, cell_shape (H, W), pad: the grid (see tfdisvae.viz.grids).
      scale: integer upscaling of the grid in the canvas.
      row_labels: one string per row (left of the row) or None.
      col_labels: one string per column (above it) or None.
      title: one line above everything (may be None); subtitle: a second, smaller line.
    """

    rows: int
    cols: int
    cell_shape: tuple
    pad: int = 2
    scale: int = 1
    row_labels: list | None = None
    col_labels: list | None = None
    title: str | None = None
    subtitle: str | None = None

    def __post_init__(self):
        if self.row_labels is not None and len(self.row_labels) != self.rows:
            raise ValueError(f"{len(self.row_labels)} row labels for {self.rows} rows")
        if self.col_labels is not None and len(self.col_labels) != self.cols:
            raise ValueError(f"{len(self.col_labels)} column labels for {self.cols} columns")
        gh, gw = grids.grid_shape(self.rows, self.cols, self.cell_shape, self.pad)
        self.grid_hw = (gh * self.scale, gw * self.scale)
        top = MARGIN
        if self.title:
            top += TITLE_PX + 6
        if self.subtitle:
            top += FONT_PX + 4
        if self.col_labels is not None and any(self.col_labels):
            top += FONT_PX + 4
        label_w = max((_text_width(s, FONT_PX) for s in self.row_labels or () if s), default=0)
        left = MARGIN + (label_w + 8 if label_w else 0)
        width = left + self.grid_hw[1] + MARGIN
        width = max(width, MARGIN * 2 + _text_width(self.title, TITLE_PX),
                    MARGIN * 2 + _text_width(self.subtitle, FONT_PX))
        self.grid_top, self.grid_left = top, left
        # Column labels wider than their cell may run past the grid's right edge: make room.
        for c, label in enumerate(self.col_labels or ()):
            if label:
                _, x = self.cell_centre(0, c)
                width = max(width, int(np.ceil(x + _text_width(label, FONT_PX) / 2)) + MARGIN)
        self.height = top + self.grid_hw[0] + MARGIN
        self.width = width

    @property
    def grid_box(self):
        """(top, left, height, width) of the upscaled grid in the canvas."""
        return (self.grid_top, self.grid_left, *self.grid_hw)

    def cell_centre(self, row, col):
        """Canvas pixel (y, x) of the centre of cell (row, col)."""
        y, x = grids.cell_origin(row, col, self.cell_shape, self.pad)
        h, w = self.cell_shape[:2]
        return (self.grid_top + self.scale * (y + h / 2.0), self.grid_left + self.scale * (x + w / 2.0))

    def texts(self):
        out = []
        y = MARGIN
        if self.title:
            out.append((MARGIN, y, self.title, TITLE_PX, "left", "top", "bold"))
            y += TITLE_PX + 6
        if self.subtitle:
            out.append((MARGIN, y, self.subtitle, FONT_PX, "left", "top", "normal"))
            y += FONT_PX + 4
        if self.col_labels is not None:
            for c, label in enumerate(self.col_labels):
                if label:
                    _, x = self.cell_centre(0, c)
                    out.append((x, self.grid_top - 3, label, FONT_PX, "center", "bottom", "normal"))
        if self.row_labels is not None:
            for r, label in enumerate(self.row_labels):
                if label:
                    yc, _ = self.cell_centre(r, 0)
                    out.append((self.grid_left - 6, yc, label, FONT_PX, "right", "center", "normal"))
        return out

    def background(self) -> np.ndarray:
        """The canvas [height, width, 3] uint8 with the text drawn and the grid area left white."""
        return render_text_layer(self.height, self.width, self.texts())

    def paste(self, background, grid) -> np.ndarray:
        """A copy of `background` with the grid image [gh, gw, C] (float in [0, 1]) pasted in."""
        top, left, h, w = self.grid_box
        pixels = grids.to_uint8(grids.upscale(grids.to_rgb(grid), self.scale))
        if pixels.shape[:2] != (h, w):
            raise ValueError(f"grid image {pixels.shape[:2]} (after scale {self.scale}) does not fit "
                             f"the layout's grid box {(h, w)}")
        canvas = background.copy()
        canvas[top:top + h, left:left + w] = pixels
        return canvas


def auto_scale(cell_shape, target=64):
    """The integer upscaling that makes a cell at least `target` pixels high (1 for 64-pixel images)."""
    return max(1, int(np.ceil(target / float(cell_shape[0]))))


@dataclasses.dataclass
class Picture:
    """A rendered picture and the numbers it shows.

    Attributes:
      pixels: uint8 [height, width, 3], what `save` writes.
      data: dict of the arrays shown (cells, latent order, KL per latent, ...), for tests and callers.
      layout: the GridLayout of grid pictures (None for matplotlib-axes figures).
      name: the default file stem (e.g. "traversals").
    """

    pixels: np.ndarray
    data: dict
    layout: GridLayout | None = None
    name: str = "picture"

    @classmethod
    def from_grid(cls, cells, name="picture", data=None, scale=None, pad=2, **labels):
        """Render cells [rows, cols, H, W, C] (float in [0, 1]) with labels (see GridLayout)."""
        cells = np.asarray(cells, np.float32)
        rows, cols, h, w, _ = cells.shape
        scale = auto_scale((h, w)) if scale is None else int(scale)
        layout = GridLayout(rows, cols, (h, w), pad=pad, scale=scale, **labels)
        grid = grids.tile(cells, pad=pad)
        pixels = layout.paste(layout.background(), grid)
        return cls(pixels, {"cells": cells, "grid": grid, **(data or {})}, layout, name)

    @property
    def size(self):
        """(width, height) in pixels, as image readers report it."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def grid_pixels(self) -> np.ndarray:
        """The grid area of `pixels` [gh*scale, gw*scale, 3] (uint8)."""
        top, left, h, w = self.layout.grid_box
        return self.pixels[top:top + h, left:left + w]

    def save(self, path) -> str:
        """Write a PNG; returns the path."""
        from PIL import Image

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        Image.fromarray(self.pixels, "RGB").save(path, format="PNG", optimize=True)
        return path


def figure_to_pixels(fig) -> np.ndarray:
    """Render a matplotlib Figure (Agg) to uint8 [height, width, 3]; height = figsize·dpi."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


@dataclasses.dataclass
class Animation:
    """Frames of an animated traversal: uint8 [frames, height, width, 3], saved as a looping GIF."""

    frames: np.ndarray
    data: dict
    layout: GridLayout | None = None
    name: str = "animation"
    fps: int = 20

    @property
    def size(self):
        return self.frames.shape[2], self.frames.shape[1]

    def save(self, path) -> str:
        """Write a looping GIF (duration 1/fps per frame); returns the path."""
        from PIL import Image

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        images = [Image.fromarray(f, "RGB") for f in self.frames]
        images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=int(round(1000 / self.fps)), optimize=False)
        return path
