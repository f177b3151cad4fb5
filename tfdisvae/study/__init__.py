"""python -m tfdisvae.study --study=poster_table1 [--steps=N] [--seeds=0,1]: train, evaluate, tabulate.

A study is a list of `Setting`s (a method, its hyper-parameters, a preset). For every setting and seed
it trains an ordinary run directory STUDY_DIR/<setting>-seed<k>/ with `training.train`, writes the
poster's Fig. 2-4 with `viz.write_figures`, evaluates it with `evaluate.evaluate_run`, and finally writes

  STUDY_DIR/table.md     one row per setting (mean ± sample std over seeds), then ours / the poster's shipped
                         model / the poster's published number side by side, then the pattern check
  STUDY_DIR/table.json   the same numbers, every seed's values and metric curves, the units, the settings
  STUDY_DIR/hparams/     TensorBoard HParams logs: one trial per run (its hyper-parameters + final metrics)
  STUDY_DIR/aam_over_training.png, mig_over_training.png   the MetricsCallback's curves of every run

Resuming: a run is finished when its newest checkpoint reached the run's steps and its metrics.json (of
that step) holds every requested metric; finished runs are skipped, a half-trained one resumes from its
checkpoint (train() does that), a trained but unevaluated one is only evaluated. `--table_only` rebuilds
the table and the HParams logs from the finished runs without training or evaluating anything.

studies.py: the settings and the poster's numbers; runner.py: running and resuming; table.py: the
tables; the command line is tfdisvae.cli.study.
"""

from tfdisvae.study.runner import (
    DEFAULT_METRICS,
    DEFAULT_NUM_POINTS,
    DLIB_METRICS,
    FIGURES,
    POSTER_METRICS,
    checkpoint_step,
    read_metrics,
    run_one,
    run_state,
    run_study,
)
from tfdisvae.study.studies import (
    POSTER_COLUMNS,
    POSTER_TABLE1,
    SHIPPED_PATH,
    STUDIES,
    Setting,
    run_name,
    select,
)
from tfdisvae.study.table import (
    ACTIVE_KL,
    CAPACITY_TOLERANCE,
    COLUMNS,
    COMPARISON,
    CURVE_METRICS,
    DISENTANGLING,
    MIN_INFORMATION,
    POSTER_EVAL_BATCH,
    POSTER_LOG_UNIT,
    build_table,
    check_pattern,
    poster_log_divisor,
    read_shipped,
    table_markdown,
    training_curves,
    write_curves,
    write_hparams,
    write_table,
)

__all__ = ["ACTIVE_KL", "build_table", "CAPACITY_TOLERANCE", "check_pattern", "checkpoint_step",
           "COLUMNS", "COMPARISON", "CURVE_METRICS", "DEFAULT_METRICS", "DEFAULT_NUM_POINTS",
           "DISENTANGLING", "DLIB_METRICS", "FIGURES", "FLAGS", "main", "MIN_INFORMATION",
           "POSTER_COLUMNS", "POSTER_EVAL_BATCH", "poster_log_divisor", "POSTER_LOG_UNIT",
           "POSTER_METRICS", "POSTER_TABLE1", "read_metrics", "read_shipped", "run", "run_name",
           "run_one", "run_state", "run_study", "select", "Setting", "SHIPPED_PATH", "STUDIES",
           "study_command", "table_markdown", "training_curves", "write_curves", "write_hparams",
           "write_table"]
_CLI = ("FLAGS", "main", "run", "study_command")  # tfdisvae.cli.study, imported when first asked for


def __getattr__(name):
    if name in _CLI:
        from tfdisvae.cli import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
