"""export.py: a run -> EXPORT_BASE/<model_name>_{encoder,decoder}/<version>/ (tfdisvae.export).

    python export.py --run_dir=runs/beta_vae_h-dsprites-seed0 --export_base=/srv/models [--model_name=dsprites]
        [--checkpoint=...] [--version=N]      # --run_dir=pretrained:<name>: a model of the zoo
"""

from absl import app, flags

from tfdisvae import cli

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)

flags.DEFINE_string("run_dir", None, "Run directory written by train.py (config.json, checkpoints/), "
                    "or pretrained:<name> for a model of the zoo.", flag_values=FLAGS)
flags.DEFINE_string("export_base", None, "Folder TF Serving watches (its --model_base_path's parent).", flag_values=FLAGS)
flags.DEFINE_string("model_name", None, "Base name of the served models (default: the run directory's name); "
                    "the models are <name>_encoder and <name>_decoder.", flag_values=FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint to export (default: the latest).", flag_values=FLAGS)
flags.DEFINE_integer("version", None, "Version number; must exceed every existing version (default: max + 1).", flag_values=FLAGS)
flags.mark_flags_as_required(["run_dir", "export_base"], flag_values=FLAGS)


def main(argv):
    from tfdisvae import export
    from tfdisvae.pretrained.zoo import resolve_run_dir

    try:
        run_dir = resolve_run_dir(FLAGS.run_dir, log=print)  # "pretrained:<name>" -> a run directory
        result = export.export_run(run_dir, FLAGS.export_base, FLAGS.model_name,
                                   checkpoint=FLAGS.checkpoint, version=FLAGS.version)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        raise app.UsageError(str(err)) from err
    print(f"version {result.version}: {result.encoder_name} -> {result.encoder_dir}")
    print(f"version {result.version}: {result.decoder_name} -> {result.decoder_dir}")


def run(argv=None):  # tfdisvae-export and the top-level export.py
    cli.run(main, FLAGS, argv)


if __name__ == "__main__":
    run()
