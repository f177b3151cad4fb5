"""python -m tfdisvae.study --study=poster_table1 [--steps=N] [--seeds=0,1]: train, evaluate, tabulate.

A study (studies.py) is a list of `Setting`s (a method, its hyper-parameters, a preset). For every
setting and seed, runner.py trains a run directory STUDY_DIR/<setting>-seed<k>/ (`training.train`),
draws the poster's Fig. 2-4 (`viz.write_figures`) and evaluates it (`evaluate.evaluate_run`),
skipping finished runs and resuming half-trained ones; table.py writes STUDY_DIR/table.md (a row per
setting, mean ± sample std over seeds, beside the poster's shipped models and numbers, and the pattern
check), table.json (the same numbers, every seed's values and curves, units, settings), hparams/
(TensorBoard HParams: a trial per run) and <metric>_over_training.png. `--table_only` only tabulates.
The command line is tfdisvae.cli.study; docs/reproduce.md describes a study in full.
"""

from tfdisvae.study.runner import *  # noqa: F403
from tfdisvae.study.studies import *  # noqa: F403
from tfdisvae.study.table import *  # noqa: F403

_CLI = ("FLAGS", "main", "run", "study_command")  # tfdisvae.cli.study, imported when first asked for


def __getattr__(name):
    if name in _CLI:
        from tfdisvae.cli import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
