"""Shared helpers of the benchmark scripts: what machine a figure was measured on, and robust summaries."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time


def machine_info() -> dict:
    """Cores, CPU model, TF/Keras versions and the devices TF sees, for printing beside every figure."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "device": ", ".join(d.name for d in gpus) if gpus else "CPU only",
    }


def print_machine() -> dict:
    info = machine_info()
    print("machine: " + " · ".join(f"{k}={v}" for k, v in info.items()))
    return info


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for printing beside figures taken on a shared CPU."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def timed_repeats(fn, repeats: int) -> list[float]:
    """Wall-clock seconds of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median(values) -> float:
    return float(statistics.median(values))


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A Markdown table of `rows` (dicts) restricted to `columns`."""
    def fmt(v):
        return f"{v:,.1f}" if isinstance(v, float) else str(v)

    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")


def print_json_line(payload: dict) -> None:
    """The one machine-readable line a benchmark ends with."""
    print(json.dumps(payload, sort_keys=True))
