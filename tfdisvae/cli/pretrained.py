"""python -m tfdisvae.pretrained: list the zoo, refresh its metrics, publish a run, import the poster's.

    python -m tfdisvae.pretrained                          # list the zoo's models and their metrics
    python -m tfdisvae.pretrained --refresh_metrics [--name NAME ...]   # weights unchanged
    python -m tfdisvae.pretrained --publish RUN_DIR --name NAME [--description TEXT]
    python -m tfdisvae.pretrained --import_disentangling_vae CHECKOUT [--commit SHA]
"""

import os

from absl import app, flags

from tfdisvae import cli

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("zoo_dir", None, "Zoo folder (default: the package's).", flag_values=FLAGS)
flags.DEFINE_multi_string("name", None, "Model name (repeatable).", flag_values=FLAGS)
flags.DEFINE_boolean("refresh_metrics", False, "Recompute metrics.json (and SHA256SUMS) of every "
                     "(or --name) model's latest version on the current dSprites renderer.",
                     flag_values=FLAGS)
flags.DEFINE_string("publish", None, "RUN_DIR: add it to the zoo as --name.", flag_values=FLAGS)
flags.DEFINE_string("description", "", "With --publish.", flag_values=FLAGS)
flags.DEFINE_string("import_disentangling_vae", None, "CHECKOUT: a copy of YannDubs/disentangling-vae; "
                    "imports its five dSprites models as poster-<method>-dsprites.", flag_values=FLAGS)
flags.DEFINE_string("commit", None, "With --import_disentangling_vae.", flag_values=FLAGS)


def main(argv):
    from tfdisvae.pretrained import disentangling_vae as dv
    from tfdisvae.pretrained import zoo

    names, zoo_dir = FLAGS.name, FLAGS.zoo_dir
    try:
        if FLAGS.publish:
            if len(names or ()) != 1:
                raise app.UsageError("--publish needs one --name")
            print(zoo.publish(FLAGS.publish, names[0], description=FLAGS.description, zoo_dir=zoo_dir))
        elif FLAGS.import_disentangling_vae:
            root = FLAGS.import_disentangling_vae
            licence = os.path.join(root, "LICENSE")
            text = open(licence, encoding="utf-8").read() if os.path.isfile(licence) else None
            for experiment in dv.POSTER_EXPERIMENTS:
                path = f"results/{experiment}/model.pt"
                print(dv.add_to_zoo(os.path.join(root, path), commit=FLAGS.commit, license_text=text,
                                    path_in_repository=path, zoo_dir=zoo_dir))
        elif FLAGS.refresh_metrics:
            zoo.refresh_metrics(names, zoo_dir=zoo_dir)
        else:
            for name in names or zoo.list_models(zoo_dir):
                entry = zoo.info(name, zoo_dir=zoo_dir)
                m = entry["config"]["model"]
                values = ", ".join(f"{k} {v:.3f}" for k, v in entry["metrics"]["metrics"].items())
                print(f"{name} v{entry['version']}: {m['method']}, {m['latent_dim']} latents; {values}")
    except (zoo.ZooError, ValueError, FileNotFoundError) as err:
        raise app.UsageError(str(err)) from err


def run(argv=None):
    cli.run(main, FLAGS, argv)
