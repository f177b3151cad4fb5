"""train.py's command line with one SIGKILL armed at a chosen moment (the chaos test's child process).

    TFDISVAE_CHAOS="<kind>:<step>:<delay_ms>" python tests/cli/chaos_child.py --model=... (train.py flags)

kind "step": a timer started when step <step> ends kills the process <delay_ms> later, during the next
steps; "checkpoint": started as the checkpoint of <step> begins to be saved (a 6 MB checkpoint for the
chaos test's model: 90-150 ms a save on the 2-core test machine, about half of it Python-side
preparation before the files are written); "summary": started as the summaries of <step>
begin to be written. The kill is a real SIGKILL from a thread of the process, so it lands wherever the
main thread is at that moment. Without TFDISVAE_CHAOS this is plain train.py.
"""

import os
import signal
import sys
import threading


def _arm(delay_ms):
    timer = threading.Timer(delay_ms / 1000.0, os.kill, (os.getpid(), signal.SIGKILL))
    timer.daemon = True
    timer.start()


def install(spec):
    kind, step, delay_ms = spec.split(":")
    step, delay_ms = int(step), float(delay_ms)
    from tfdisvae import callbacks, runs

    if kind == "checkpoint":
        real_save = runs.RunCheckpoints.save

        def save(self, at):
            if int(at) == step:
                _arm(delay_ms)
            return real_save(self, at)

        runs.RunCheckpoints.save = save
    elif kind == "summary":
        real_write = callbacks.TrainingSummaries.write

        def write(self, at, logs):
            if int(at) == step:
                _arm(delay_ms)
            return real_write(self, at, logs)

        callbacks.TrainingSummaries.write = write
    elif kind == "step":
        real_end = callbacks.NaNGuard.on_train_batch_end

        def on_train_batch_end(self, batch, logs=None):
            if callbacks.global_step(self.model) == step:
                _arm(delay_ms)
            return real_end(self, batch, logs)

        callbacks.NaNGuard.on_train_batch_end = on_train_batch_end
    else:
        raise ValueError(f"TFDISVAE_CHAOS kind must be step, checkpoint or summary, got {kind!r}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    if os.environ.get("TFDISVAE_CHAOS"):
        install(os.environ["TFDISVAE_CHAOS"])
    sys.argv[0] = "train.py"
    from tfdisvae.cli.train import run

    run()
