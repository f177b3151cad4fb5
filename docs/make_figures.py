"""Regenerate the README's pictures (docs/figures/) from a trained run on dSprites.

    python train.py --model beta_vae_h --data_source render          # a few minutes on CPU
    python docs/make_figures.py runs/beta_vae_h-dsprites-seed0        # writes docs/figures/*.png, *.gif

The same pictures as `python -m tfdisvae.viz RUN all`, with the GIFs kept small (top 5 latents, 3 images,
30 frames) so the folder stays well under 3 MB.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a run directory written by train.py")
    parser.add_argument("--out_dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                          "figures"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from tfdisvae.viz.figures import write_figures

    written = write_figures(args.run_dir, ["all"], out_dir=args.out_dir, num_images=8, seed=args.seed,
                            gif_images=3, gif_frames=30, gif_top_k=5)
    total = sum(os.path.getsize(p) for paths in written.values() for p in paths)
    print(f"{sum(len(p) for p in written.values())} files, {total / 1e6:.2f} MB in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
