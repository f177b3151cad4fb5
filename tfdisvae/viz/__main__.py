"""python -m tfdisvae.viz RUN_DIR [PLOT ...] (the command: tfdisvae.cli.viz)."""

from tfdisvae.cli.viz import run

if __name__ == "__main__":
    run()
