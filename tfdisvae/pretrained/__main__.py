"""python -m tfdisvae.pretrained: list the zoo, refresh its metrics, publish a run, import the poster's.

    python -m tfdisvae.pretrained                          # list the zoo's models and their metrics
    python -m tfdisvae.pretrained --refresh_metrics [--name NAME ...]
        # recompute metrics.json (and SHA256SUMS) on the current dSprites renderer; weights unchanged
    python -m tfdisvae.pretrained --publish RUN_DIR --name NAME [--description TEXT]
    python -m tfdisvae.pretrained --import_disentangling_vae CHECKOUT [--commit SHA]
        # CHECKOUT: a copy of YannDubs/disentangling-vae; imports results/{VAE,betaH,betaB,factor,
        # btcvae}_dsprites/model.pt with their specs.json and LICENSE as poster-<method>-dsprites

--zoo_dir writes to (and reads from) another zoo folder than the package's.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfdisvae.pretrained", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo_dir", default=None, help="zoo folder (default: the package's)")
    parser.add_argument("--name", action="append", default=None,
                        help="model name (repeatable with --refresh_metrics)")
    parser.add_argument("--refresh_metrics", action="store_true",
                        help="recompute metrics.json of the latest version of every (or --name) model")
    parser.add_argument("--publish", metavar="RUN_DIR", default=None,
                        help="add a training run to the zoo as --name (its next version)")
    parser.add_argument("--description", default="", help="with --publish")
    parser.add_argument("--import_disentangling_vae", metavar="CHECKOUT", default=None,
                        help="import the poster's five dSprites models from a copy of its repository")
    parser.add_argument("--commit", default=None, help="with --import_disentangling_vae: its commit")
    args = parser.parse_args(argv)

    from tfdisvae.pretrained import zoo

    try:
        if args.publish:
            if not args.name or len(args.name) != 1:
                parser.error("--publish needs one --name")
            print(zoo.publish(args.publish, args.name[0], description=args.description,
                              zoo_dir=args.zoo_dir))
            return 0
        if args.import_disentangling_vae:
            from tfdisvae.pretrained import disentangling_vae as dv

            root = args.import_disentangling_vae
            license_path = os.path.join(root, "LICENSE")
            license_text = open(license_path, encoding="utf-8").read() if os.path.isfile(
                license_path) else None
            for experiment in dv.POSTER_EXPERIMENTS:
                path = os.path.join(root, "results", experiment, "model.pt")
                folder = dv.add_to_zoo(path, commit=args.commit, license_text=license_text,
                                       path_in_repository=f"results/{experiment}/model.pt",
                                       zoo_dir=args.zoo_dir)
                print(folder)
            return 0
        if args.refresh_metrics:
            zoo.refresh_metrics(args.name, zoo_dir=args.zoo_dir)
            return 0
        for name in args.name or zoo.list_models(args.zoo_dir):
            entry = zoo.info(name, zoo_dir=args.zoo_dir)
            values = ", ".join(f"{k} {v:.3f}" for k, v in entry["metrics"]["metrics"].items())
            print(f"{name} v{entry['version']}: {entry['config']['model']['method']}, "
                  f"{entry['config']['model']['latent_dim']} latents; {values}")
        return 0
    except (zoo.ZooError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
