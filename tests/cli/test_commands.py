"""Every command but train (tests/training) run for real in a subprocess: --help lists its own flags,
a bad flag or an unexpected argument is one line `PROG: error: ...` and exit 2, and the same parse
twice in one process starts from the defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

COMMANDS = {  # command line -> (program name in errors, some of its flags, a flag with a bad value)
    "export.py": ("export.py", ["--run_dir", "--export_base", "--model_name", "--version"],
                  "--version=x"),
    "-m tfdisvae.evaluate": ("python -m tfdisvae.evaluate", ["--run_dir", "--metrics", "--udr"],
                             "--seed=x"),
    "-m tfdisvae.viz": ("python -m tfdisvae.viz", ["--out_dir", "--top_k", "--heatmap_factors"],
                        "--span=x"),
    "-m tfdisvae.pretrained": ("python -m tfdisvae.pretrained",
                               ["--zoo_dir", "--[no]refresh_metrics", "--publish", "--name"],
                               "--refresh_metrics=x"),
    "-m tfdisvae.data.dsprites": ("python -m tfdisvae.data.dsprites",
                                  ["--data_dir", "--[no]render", "--write_npz"], "--render=x"),
    "serving/client.py": ("serving/client.py", ["--model_name", "--images", "--protocol"],
                          "--protocol=ftp"),
}


def _run(command, *args):
    return subprocess.run([sys.executable, *command.split(), *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_the_commands_own_flags(command):
    prog, names, _ = COMMANDS[command]
    done = _run(command, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: {prog} ")
    for name in names:
        assert f"  {name}: " in done.stdout, name
    assert "--verbosity" not in done.stdout  # absl's own logging flags are not the command's


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("bad", ["unknown", "bad value"])
def test_a_bad_flag_is_one_line_and_exit_2(command, bad, own_stderr_lines):
    prog, _, bad_value = COMMANDS[command]
    flag, says = ("--no_such_flag=1", "Unknown command line flag 'no_such_flag'") if bad == "unknown" \
        else (bad_value, bad_value.split("=")[0])
    done = _run(command, flag)
    lines = own_stderr_lines(done.stderr)
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"{prog}: error: ") and says in lines[0], lines[0]


@pytest.mark.parametrize("command, args, says", [
    ("export.py", ["--run_dir=r", "--export_base=b", "extra"], "unexpected arguments extra"),
    ("-m tfdisvae.evaluate", [], "--run_dir is required"),
    ("-m tfdisvae.viz", [], "give the run directory"),
    ("-m tfdisvae.pretrained", ["--publish=run"], "--publish needs one --name"),
    ("-m tfdisvae.data.dsprites", ["--data_dir=."], "nothing to do: give --render and/or --write_npz"),
    ("serving/client.py", ["--model_name=m"], "give --images or --latents"),
])
def test_a_usage_error_is_one_line_and_exit_2(command, args, says, own_stderr_lines):
    done = _run(command, *args)
    lines = own_stderr_lines(done.stderr)
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"{COMMANDS[command][0]}: error: ") and says in lines[0], lines[0]


def test_a_second_run_in_one_process_starts_from_the_defaults(capsys):
    from tfdisvae.cli import evaluate

    with pytest.raises(SystemExit) as first:
        evaluate.run(["evaluate", "--udr=a,b", "extra"])
    assert first.value.code == 2 and "unexpected arguments extra" in capsys.readouterr().err
    with pytest.raises(SystemExit) as second:
        evaluate.run(["evaluate"])  # --udr=a,b is gone: --run_dir is missing
    assert second.value.code == 2 and "--run_dir is required" in capsys.readouterr().err
