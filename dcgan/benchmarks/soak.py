r"""Soak benchmark: a long toy run, watched from outside for leaks and retracing.

    python -m dcgan.benchmarks.soak                  # 20k gaussian1d steps, a few minutes
    python -m dcgan.benchmarks.soak --steps=2000 --output=soak.json

Runs ``python -m dcgan.train`` as a child process on a fresh workdir and samples, about
once a second, its resident memory (VmRSS), the size of its TensorBoard event files and
the step it reached. Reports memory growth after warm-up, event bytes per summarized
step over the run's first and second halves (linear growth keeps them equal), and the
trace counts the run prints at its end. Exits 1 if memory grows by more than
``--max_rss_growth_mib`` after warm-up or any function traced more than once.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.benchmarks.soak"
# A cheap, steady toy run: summaries every 100 steps, histograms every 1000.
_RUN_FLAGS = (
    "--dataset=gaussian1d",
    "--latent_dim=4",
    "--batch_size=256",
    "--log_every=500",
    "--summary_every=100",
    "--image_every=1000",
    "--checkpoint_every=5000",
)


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def _events_bytes(workdir: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(workdir, "events.out.*")))


def soak(*, steps: int, interval_s: float = 1.0) -> dict[str, object]:
    """Runs the soak and returns its samples and summary figures."""
    workdir = tempfile.mkdtemp(prefix="dcgan-soak-")
    command = [
        sys.executable,
        "-u",
        "-m",
        "dcgan.train",
        f"--workdir={workdir}",
        f"--train_steps={steps}",
        *_RUN_FLAGS,
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # Here, not at the top: it loads TensorFlow, which a bad flag must not wait for.
    from dcgan.run.history import strip_elapsed

    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(strip_elapsed(line) for line in child.stdout), daemon=True
    )
    reader.start()
    samples = []  # (seconds, step, rss MiB, event bytes)
    start = time.monotonic()
    while child.poll() is None:
        time.sleep(interval_s)
        done = [line for line in list(lines) if line.startswith("step ")]
        step = int(done[-1].split()[1].split("/")[0]) if done else 0
        rss = _rss_mib(child.pid)
        if rss is not None:
            samples.append((time.monotonic() - start, step, rss, _events_bytes(workdir)))
    reader.join()
    if child.returncode != 0:
        raise RuntimeError(f"the training run failed with status {child.returncode}")
    traces = dict(item.split("=") for item in lines[-1].split()[1:])  # "traces: a=1 b=1"
    return {
        "steps": steps,
        "seconds": time.monotonic() - start,
        "samples": samples,
        "traces": {name: int(count) for name, count in traces.items()},
        **_summarize(samples, steps, _events_bytes(workdir)),
    }


def _summarize(samples, steps: int, final_events: int) -> dict[str, float]:
    # Warm-up: tracing, first summaries and the first checkpoint all allocate; a leak
    # shows as growth over the rest of the run.
    warm = [s for s in samples if s[1] >= steps // 4]
    first_half = [s for s in samples if s[1] <= steps // 2]
    growth = warm[-1][2] - warm[0][2] if len(warm) > 1 else 0.0
    half_bytes, half_step = (first_half[-1][3], first_half[-1][1]) if first_half else (0, 0)
    return {
        "rss_after_warmup_mib": warm[0][2] if warm else float("nan"),
        "rss_final_mib": samples[-1][2] if samples else float("nan"),
        "rss_growth_after_warmup_mib": growth,
        "event_bytes_per_step_first_half": half_bytes / max(half_step, 1),
        "event_bytes_per_step_second_half": (final_events - half_bytes) / max(steps - half_step, 1),
    }


def _define_flags() -> None:
    flags.DEFINE_integer("steps", 20_000, "Generator steps of the soak run.", lower_bound=100)
    flags.DEFINE_float("max_rss_growth_mib", 50.0, "Allowed RSS growth after warm-up.")
    flags.DEFINE_string("output", None, "Optional JSON file for the samples and figures.")


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    result = soak(steps=flags.FLAGS.steps)
    for key in (
        "steps",
        "seconds",
        "rss_after_warmup_mib",
        "rss_final_mib",
        "rss_growth_after_warmup_mib",
        "event_bytes_per_step_first_half",
        "event_bytes_per_step_second_half",
        "traces",
    ):
        value = result[key]
        print(f"{key:34s} {value:.1f}" if isinstance(value, float) else f"{key:34s} {value}")
    if flags.FLAGS.output:
        with open(flags.FLAGS.output, "w") as f:
            json.dump(result, f, indent=2)
    if result["rss_growth_after_warmup_mib"] > flags.FLAGS.max_rss_growth_mib:
        cli.fail(
            _PROGRAM,
            f"resident memory grew {result['rss_growth_after_warmup_mib']:.1f} "
            f"MiB after warm-up (> --max_rss_growth_mib={flags.FLAGS.max_rss_growth_mib})",
            1,
        )
    if any(count != 1 for count in result["traces"].values()):
        cli.fail(_PROGRAM, f"a compiled function retraced: {result['traces']}", 1)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
