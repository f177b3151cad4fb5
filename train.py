"""Train a disentangling VAE: `python train.py --help` lists the flags (see docs/training.md)."""

from tfdisvae.cli.train import run

if __name__ == "__main__":
    run()
