"""Command-line entry points (absl): train, export, evaluate, viz, dsprites, pretrained.

Each command keeps its flags in its own `absl.flags.FlagValues`, not in the global `flags.FLAGS`: the
commands share flag names (`run_dir`, `seed`, `batch_size`, ...) with different meanings and defaults,
and a process that imports several of them (a study runner, a test session) must not see one command's
flag where it means another's. The top-level train.py and export.py and `python -m tfdisvae.<module>`
are thin stubs over these modules.
"""

import os
import sys

from absl import app, flags

_HELP_ARGS = ("-h", "-help", "--help", "--helpshort", "--helpfull")


def run(main, flag_values, argv=None, args=None):
    """absl's app.run for a command whose flags live in `flag_values`.

    args: the positional arguments it takes, for --help (e.g. "RUN_DIR [PLOT ...]"); None: none, and
    any is an error. --help prints the command's own flags; a bad flag, an unexpected argument or an
    `app.UsageError` raised by `main` prints one line `PROG: error: ...` and exits 2.
    """
    prog = _prog((sys.argv if argv is None else argv)[0])

    def fail(message):
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)

    def parse(argv):
        if any(arg in _HELP_ARGS for arg in argv[1:]):
            print(f"usage: {prog} {args + ' ' if args else ''}[--flag=value ...]")
            print(flag_values.get_help(include_special_flags=False))
            sys.exit(0)
        flags.FLAGS([argv[0]])  # absl's own flags (logging) keep their defaults
        flag_values.unparse_flags()  # a second run in one process starts from the defaults
        try:
            argv = flag_values(argv)
        except flags.Error as err:
            fail(err)
        if args is None and len(argv) > 1:
            fail(f"unexpected arguments {' '.join(argv[1:])}; every setting is a --flag (see --help)")
        return argv

    def checked_main(argv):
        try:
            return main(argv)
        except app.UsageError as err:
            fail(err)

    app.run(checked_main, argv=argv, flags_parser=parse)


def _prog(argv0):
    """`python -m tfdisvae.viz` for a module run with -m, else the script's name (train.py, ...)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.origin == os.path.abspath(argv0):
        return "python -m " + spec.name.removesuffix(".__main__")
    return os.path.basename(argv0)
