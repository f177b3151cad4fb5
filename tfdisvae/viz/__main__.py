"""python -m tfdisvae.viz RUN_DIR [PLOT ...] (see tfdisvae.viz.cli)."""

import sys

from tfdisvae.viz.cli import main

if __name__ == "__main__":
    sys.exit(main())
