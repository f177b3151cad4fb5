"""python -m tfdisvae.pretrained (the command: tfdisvae.cli.pretrained)."""

from tfdisvae.cli.pretrained import run

if __name__ == "__main__":
    run()
