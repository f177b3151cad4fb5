"""How close is the rendered dSprites to real dSprites images? Intersection over union, per shape.

    python benchmarks/dsprites_fidelity.py --original PATH [--num_images 20000] [--seed 0]
    python benchmarks/dsprites_fidelity.py --grid_png PATH [--rows 10 --cols 10 --padding 2]

--original: the DeepMind file (npz or hdf5). A seeded sample of its images is compared with the
rendering of the same factor classes: the IoU of each pair, and the difference of area and centroid.

--grid_png: a picture of real dSprites images laid out in a grid (e.g. torchvision's make_grid, as the
poster's code saves `data_samples.png`), whose factors are unknown. Each image is matched with the grid
image of the highest IoU among those of similar area and centroid (the grid is fine: 1 px positions,
9° orientations), so this measures how well the renderer's shapes can explain real images.

Nothing is written; the tables go to stdout, one JSON line at the end.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import print_json_line, print_machine, print_table  # noqa: E402

COORDS = np.arange(64) + 0.5  # pixel centres


def area_and_centroid(images):
    """(area [n], x [n], y [n]) of binary images [n, 64, 64]; x along columns, y down the rows."""
    images = np.asarray(images, np.float32)
    area = images.sum(axis=(1, 2))
    safe = np.maximum(area, 1)
    return area, (images.sum(axis=1) @ COORDS) / safe, (images.sum(axis=2) @ COORDS) / safe


def iou(a, b):
    """IoU of binary image stacks broadcast against each other ([..., 64, 64])."""
    return (a & b).sum(axis=(-2, -1)) / np.maximum((a | b).sum(axis=(-2, -1)), 1)


def compare_original(path, num_images, seed):
    from tfdisvae.data import dsprites

    values, classes, chunks = dsprites._read_original(path, 16_384)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(classes), size=min(num_images, len(classes)), replace=False))
    real = np.empty((len(picked), 64, 64), bool)
    start = 0
    for block in chunks:
        inside = (picked >= start) & (picked < start + len(block))
        real[inside] = block[picked[inside] - start].astype(bool)
        start += len(block)
    ours = dsprites.render(classes[picked, 1:]).astype(bool)
    shapes = classes[picked, 1]
    overlap = iou(real, ours)
    real_area, real_x, real_y = area_and_centroid(real)
    our_area, our_x, our_y = area_and_centroid(ours)
    shift = np.hypot(real_x - our_x, real_y - our_y)
    return shapes, overlap, {"real_area": real_area, "our_area": our_area, "centroid_shift_px": shift}


def compare_grid_png(path, rows, cols, padding):
    from PIL import Image

    from tfdisvae.data import dsprites

    picture = np.asarray(Image.open(path).convert("L")) > 127
    step = 64 + padding
    samples = np.stack([picture[padding + r * step:padding + r * step + 64,
                                padding + c * step:padding + c * step + 64]
                        for r in range(rows) for c in range(cols)])
    grid = dsprites.grid_classes()
    packed = np.empty((len(grid), 64, 8), np.uint8)
    area, x, y = (np.empty(len(grid)) for _ in range(3))
    for start in range(0, len(grid), 16_384):
        block = dsprites.render(grid[start:start + 16_384])
        packed[start:start + len(block)] = np.packbits(block, axis=-1)
        area[start:start + len(block)], x[start:start + len(block)], y[start:start + len(block)] = (
            area_and_centroid(block))
    shapes, best, extra = [], [], {"real_area": [], "our_area": [], "centroid_shift_px": []}
    for sample in samples:
        (a,), (sx,), (sy,) = area_and_centroid(sample[None])
        near = np.flatnonzero((np.abs(area - a) < 0.25 * a + 4) & (np.abs(x - sx) < 2.5)
                              & (np.abs(y - sy) < 2.5))
        if near.size == 0:
            shapes.append(-1), best.append(0.0)
            continue
        candidates = np.unpackbits(packed[near], axis=-1).astype(bool)
        scores = iou(candidates, sample)
        k = int(np.argmax(scores))
        shapes.append(grid[near[k], 0]), best.append(scores[k])
        extra["real_area"].append(a), extra["our_area"].append(area[near[k]])
        extra["centroid_shift_px"].append(np.hypot(x[near[k]] - sx, y[near[k]] - sy))
    return np.array(shapes), np.array(best), {k: np.array(v) for k, v in extra.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--original", help="the DeepMind dSprites npz or hdf5")
    source.add_argument("--grid_png", help="a picture of real dSprites images in a grid")
    parser.add_argument("--num_images", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--padding", type=int, default=2)
    args = parser.parse_args(argv)
    from tfdisvae.data import dsprites

    print_machine()
    if args.original:
        shapes, overlap, extra = compare_original(args.original, args.num_images, args.seed)
        mode = f"original file {args.original}, {len(shapes)} images (seed {args.seed})"
    else:
        shapes, overlap, extra = compare_grid_png(args.grid_png, args.rows, args.cols, args.padding)
        mode = f"grid picture {args.grid_png}, {len(shapes)} images matched to their best grid image"
    print(f"renderer version {dsprites.RENDERER_VERSION}; {mode}")
    table = []
    for s, name in [*enumerate(dsprites.SHAPES), (None, "all")]:
        sel = np.ones(len(shapes), bool) if s is None else shapes == s
        if not sel.any():
            continue
        matched = sel[shapes >= 0]
        table.append({"shape": name, "images": int(sel.sum()),
                      "mean IoU": f"{overlap[sel].mean():.4f}",
                      "median IoU": f"{np.median(overlap[sel]):.4f}",
                      "min IoU": f"{overlap[sel].min():.4f}",
                      "real area px": f"{extra['real_area'][matched].mean():.1f}",
                      "our area px": f"{extra['our_area'][matched].mean():.1f}",
                      "centroid shift px": f"{extra['centroid_shift_px'][matched].mean():.2f}"})
    print_table(table, list(table[0]))
    print_json_line({"renderer_version": dsprites.RENDERER_VERSION, "mode": mode, "rows": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
