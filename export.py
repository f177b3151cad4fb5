"""Export a training run for TensorFlow Serving; see tfdisvae/cli/export.py for the flags."""

from tfdisvae.cli.export import run

if __name__ == "__main__":
    run()
