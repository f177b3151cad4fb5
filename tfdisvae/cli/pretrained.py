"""absl flags of python -m tfdisvae.pretrained: list the zoo, refresh its metrics, publish a run, import
the poster's models.

    python -m tfdisvae.pretrained                          # list the zoo's models and their metrics
    python -m tfdisvae.pretrained --refresh_metrics [--name NAME ...]
        # recompute metrics.json (and SHA256SUMS) on the current dSprites renderer; weights unchanged
    python -m tfdisvae.pretrained --publish RUN_DIR --name NAME [--description TEXT]
    python -m tfdisvae.pretrained --import_disentangling_vae CHECKOUT [--commit SHA]
        # CHECKOUT: a copy of YannDubs/disentangling-vae; imports results/{VAE,betaH,betaB,factor,
        # btcvae}_dsprites/model.pt with their specs.json and LICENSE as poster-<method>-dsprites
"""

import os

from absl import app, flags

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("zoo_dir", None, "Zoo folder to write and read (default: the package's).", flag_values=FLAGS)
flags.DEFINE_multi_string("name", None, "Model name (repeatable with --refresh_metrics).", flag_values=FLAGS)
flags.DEFINE_boolean("refresh_metrics", False, "Recompute metrics.json of the latest version of every "
                     "(or --name) model.", flag_values=FLAGS)
flags.DEFINE_string("publish", None, "RUN_DIR: add a training run to the zoo as --name (its next version).",
                    flag_values=FLAGS)
flags.DEFINE_string("description", "", "With --publish.", flag_values=FLAGS)
flags.DEFINE_string("import_disentangling_vae", None, "CHECKOUT: import the poster's five dSprites models "
                    "from a copy of its repository.", flag_values=FLAGS)
flags.DEFINE_string("commit", None, "With --import_disentangling_vae: its commit.", flag_values=FLAGS)


def main(argv):
    from tfdisvae.pretrained import zoo

    try:
        if FLAGS.publish:
            if not FLAGS.name or len(FLAGS.name) != 1:
                raise app.UsageError("--publish needs one --name")
            print(zoo.publish(FLAGS.publish, FLAGS.name[0], description=FLAGS.description,
                              zoo_dir=FLAGS.zoo_dir))
        elif FLAGS.import_disentangling_vae:
            _import_disentangling_vae(FLAGS.import_disentangling_vae)
        elif FLAGS.refresh_metrics:
            zoo.refresh_metrics(FLAGS.name, zoo_dir=FLAGS.zoo_dir)
        else:
            for name in FLAGS.name or zoo.list_models(FLAGS.zoo_dir):
                entry = zoo.info(name, zoo_dir=FLAGS.zoo_dir)
                values = ", ".join(f"{k} {v:.3f}" for k, v in entry["metrics"]["metrics"].items())
                print(f"{name} v{entry['version']}: {entry['config']['model']['method']}, "
                      f"{entry['config']['model']['latent_dim']} latents; {values}")
    except (zoo.ZooError, ValueError, FileNotFoundError) as err:
        raise app.UsageError(str(err)) from err


def _import_disentangling_vae(root):
    from tfdisvae.pretrained import disentangling_vae as dv

    license_path = os.path.join(root, "LICENSE")
    license_text = open(license_path, encoding="utf-8").read() if os.path.isfile(
        license_path) else None
    for experiment in dv.POSTER_EXPERIMENTS:
        print(dv.add_to_zoo(os.path.join(root, "results", experiment, "model.pt"), commit=FLAGS.commit,
                            license_text=license_text, path_in_repository=f"results/{experiment}/model.pt",
                            zoo_dir=FLAGS.zoo_dir))


def run(argv=None):
    """The command; argv as sys.argv."""
    from tfdisvae import cli

    cli.run(main, FLAGS, argv)


if __name__ == "__main__":
    run()
