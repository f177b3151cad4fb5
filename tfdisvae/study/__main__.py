"""python -m tfdisvae.study --study=poster_table1 ... (see tfdisvae.cli.study)."""

from tfdisvae.cli.study import run

if __name__ == "__main__":
    run()
