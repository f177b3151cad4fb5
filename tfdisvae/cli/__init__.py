"""The command lines (absl); train.py, export.py and `python -m tfdisvae.<module>` are stubs over them.

Each command's flags live in its own `absl.flags.FlagValues`: the commands share names (`run_dir`,
`seed`, ...) with other meanings, and one process may import several (a study, a test session).
"""

import os
import sys

from absl import app, flags


def run(main, flag_values, argv=None, args=None):
    """absl's app.run for a command whose flags live in `flag_values`; argv as sys.argv.

    args: its positional arguments, for --help ("RUN_DIR [PLOT ...]"; None: none). A bad flag or
    argument, or an `app.UsageError` from `main`, is one line `PROG: error: ...` and exit 2.
    """
    argv0 = (sys.argv if argv is None else argv)[0]
    prog, spec = os.path.basename(argv0), getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec and spec.origin == os.path.abspath(argv0):  # python -m tfdisvae.viz
        prog = "python -m " + spec.name.removesuffix(".__main__")

    def fail(message):
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)

    def parse(argv):
        if any(arg in ("-h", "-help", "--help", "--helpshort", "--helpfull") for arg in argv[1:]):
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
            fail(f"unexpected arguments {' '.join(argv[1:])}; settings are --flags (see --help)")
        return argv

    def checked_main(argv):
        try:
            return main(argv)
        except app.UsageError as err:
            fail(err)

    app.run(checked_main, argv=argv, flags_parser=parse)
