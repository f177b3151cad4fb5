"""Command-line entry points (absl). The top-level train.py and export.py are thin wrappers over these.

Each command keeps its flags in its own `absl.flags.FlagValues`, not in the global `flags.FLAGS`: the
commands share flag names (`run_dir`, `seed`, `batch_size`, ...) with different meanings and defaults,
and a process that imports several of them (a study runner, a test session) must not see one command's
flag where it means another's.
"""

import os
import sys

from absl import app, flags

_HELP_ARGS = ("-h", "-help", "--help", "--helpshort", "--helpfull")


def run(main, flag_values, argv=None):
    """absl's app.run for a command whose flags live in `flag_values`.

    --help prints the command's own flags; a bad flag prints one line `PROG: error: ...` and exits 2.
    """

    def parse(argv):
        prog = os.path.basename(argv[0])
        if any(arg in _HELP_ARGS for arg in argv[1:]):
            print(f"usage: {prog} [--flag=value ...]\n")
            print(flag_values.get_help(include_special_flags=False))
            sys.exit(0)
        flags.FLAGS([argv[0]])  # absl's own flags (logging) keep their defaults
        try:
            return flag_values(argv)
        except flags.Error as err:
            print(f"{prog}: error: {err}", file=sys.stderr, flush=True)
            sys.exit(2)

    app.run(main, argv=argv, flags_parser=parse)
