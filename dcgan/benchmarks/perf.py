r"""The performance benchmark of issue 16, in one process: ``make bench``.

    python -m dcgan.benchmarks.perf --output=bench.json
    python -m dcgan.benchmarks.perf --cases=quickstart32 --windows=2 --window_steps=1

Times every case of ``dcgan.benchmarks.cases`` (DCGAN-64 step modes and precisions, the
Keras and plain-TF baselines on the same nets, WGAN critic and G updates, the small
nets), measures the fp32 and bf16 matmul rates (``dcgan.benchmarks.hardware``), the time
from process start to the first finished step of ``dcgan.train`` in a child process,
and the input pipeline on a CelebA-shaped folder (``dcgan.benchmarks.data``). Prints a
table, every target of the issue with its value and PASS or MISS, and writes a JSON.

Every time is the median of ``--windows`` windows after warm-up, the windows of the
cases and matmuls interleaved (``timing.interleaved_window_times``), each window after
one untimed call of its own (it rebuilds the kernels the other cases evicted); every
ratio divides
two figures of this run. Exits 0 when targets are missed (it is a report); 1 on an error
or when a compiled function traced more than once (its times include tracing).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

from absl import app, flags

from dcgan import cli
from dcgan.benchmarks import cases, hardware, report, timing
from dcgan.benchmarks import data as bench_data

_PROGRAM = "dcgan.benchmarks.perf"
# The repository root: the first-step child runs from there, as a user would.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Measurements besides the cases, selectable in --cases like them.
PARTS = ("matmul", "first_step", "input")
# The first-step child: dcgan.train on DCGAN-64 (glyphs rendered at 64 px RGB), one step.
FIRST_STEP_FLAGS = (
    "--dataset=glyphs",
    "--image_size=64",
    "--channels=3",
    "--g_base_width=64",
    "--d_base_width=64",
    "--batch_size=64",
    "--train_steps=1",
    "--log_every=1",
)
_FIRST_STEP_MARKER = "step 1/"  # dcgan.run.loop's log line after the first step
# The CelebA recipe dcgan.benchmarks.data times: 218x178 JPEGs, crop 108, resize 64.
_CELEBA = "jpeg_218x178_celeba_crop108"


@dataclasses.dataclass
class _Running:
    """A case built, traced and warm, ready for its timed windows."""

    case: cases.Case
    prepared: cases.Prepared
    record: dict[str, object]
    calls: int  # per window


def start_case(case: cases.Case, *, window_steps: int | None) -> _Running | dict[str, object]:
    """Builds ``case``, times its first call (tracing included) and warms it up.

    Returns:
        The running case; or, for a case needing a Config field not merged yet, its
        finished record saying so.
    """
    record = {"case": case.name, "summary": case.summary, "kind": case.kind}
    missing = cases.missing_fields(case)
    if missing:
        return {**record, "skipped": f"Config has no field {', '.join(missing)} yet"}
    config = cases.case_config(case)
    record["config"] = {
        "batch_size": config.batch_size,
        "n_critic": config.n_critic,
        "loss": config.loss,
        "precision": config.precision,
        **case.overrides,
    }
    start = time.perf_counter()
    prepared = cases.prepare(case)
    record["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    prepared.call()
    record["first_call_s"] = time.perf_counter() - start
    for _ in range(case.warmup_calls - 1):
        prepared.call()
    return _Running(case, prepared, record, case.calls_per_window(window_steps))


def finish_case(running: _Running, times: list[float]) -> dict[str, object]:
    """The record of a case timed in windows of ``times`` seconds per call:
    ``s_per_step`` (their median), FLOP rate, trace count."""
    case, flops = running.case, running.prepared.flops_per_step
    per_step = [t / case.steps_per_call for t in times]
    s_per_step = timing.median(per_step)
    return {
        **running.record,
        "steps_per_call": case.steps_per_call,
        "calls_per_window": running.calls,
        "window_s_per_step": per_step,
        "s_per_step": s_per_step,
        "steps_per_s": 1 / s_per_step,
        "spread": (max(per_step) - min(per_step)) / s_per_step,
        "gflop_per_step": None if flops is None else flops / 1e9,
        "gflop_per_s": None if flops is None else flops / 1e9 / s_per_step,
        "traces": running.prepared.traces(),
    }


def measure_first_step(*, timeout_s: float) -> dict[str, object]:
    """Seconds from spawning ``python -m dcgan.train`` (``FIRST_STEP_FLAGS``, a temporary
    workdir) to its log line for step 1, clocked here: imports, data, networks, the
    first sample grid, tracing and the step.

    Raises:
        RuntimeError: if the child fails, ends without that line, or outlives
            ``timeout_s`` (it is killed).
    """
    with tempfile.TemporaryDirectory(prefix="dcgan_bench_first_step_") as root:
        command = [sys.executable, "-u", "-m", "dcgan.train", *FIRST_STEP_FLAGS]
        command.append(f"--workdir={os.path.join(root, 'run')}")
        # stderr to a file: a pipe nobody reads while we wait for stdout could fill up.
        with open(os.path.join(root, "stderr.txt"), "w+") as stderr:
            start = time.perf_counter()
            child = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=_ROOT
            )
            killer = threading.Timer(timeout_s, child.kill)
            killer.start()
            seconds = None
            # Here, not at the top: it loads TensorFlow, which a bad flag must not wait for.
            from dcgan.run.history import strip_elapsed

            for line in child.stdout:  # read to the end: the child must not block on it
                if seconds is None and strip_elapsed(line).startswith(_FIRST_STEP_MARKER):
                    seconds = time.perf_counter() - start
            child.wait()
            timed_out = not killer.is_alive()  # it fired: the child was killed
            killer.cancel()
            stderr.seek(0)
            last = stderr.read().strip().splitlines()[-1:] or ["no stderr"]
    if timed_out:
        raise RuntimeError(f"dcgan.train did not end within {timeout_s} s; killed")
    if seconds is None or child.returncode != 0:
        raise RuntimeError(f"dcgan.train failed (status {child.returncode}): {last[0]}")
    return {"seconds": seconds, "command": " ".join(["python -m dcgan.train", *FIRST_STEP_FLAGS])}


def measure_input(*, files: int, windows: int) -> dict[str, object]:
    """Images/s of ``dcgan.data.make_dataset`` on ``files`` generated CelebA-shaped JPEGs."""
    height, width, options = bench_data.FOLDERS[_CELEBA]
    with tempfile.TemporaryDirectory(prefix="dcgan_bench_input_") as root:
        bench_data.write_jpegs(root, count=files, height=height, width=width)
        result = bench_data.measure(
            root, batch_size=64, warmup_batches=4, batches=8, windows=windows, **options
        )
    return {"folder": _CELEBA, "files": files, "batch_size": 64, **options, **result}


def _define_flags() -> None:
    # Defined only when run as a program: importing this module (the tests do) must not
    # claim names such as --output that other entry points define too.
    names = [*cases.CASES, *PARTS]
    flags.DEFINE_list("cases", names, f"What to measure: {', '.join(names)}.")
    flags.DEFINE_integer("windows", 5, "Timed windows per figure (the median).", lower_bound=1)
    flags.DEFINE_integer(
        "window_steps", 0, "Steps per window for every case; 0: each case's own.", lower_bound=0
    )
    flags.DEFINE_integer("matmul_size", 4096, "Side of the timed square matmul.", lower_bound=1)
    flags.DEFINE_integer(
        "input_files", 512, "CelebA-shaped JPEGs generated for the input figure.", lower_bound=64
    )
    flags.DEFINE_string("output", None, "Optional JSON file for every figure.")


def measure_all(names: list[str], *, windows: int, window_steps: int | None) -> dict:
    """Runs the selected cases and parts; returns the results ``report.evaluate_targets``
    reads.

    The cases' and the matmuls' windows are interleaved
    (``timing.interleaved_window_times``), so that every ratio between them holds on a
    machine whose load drifts.
    """
    cpu = hardware.cpu_info()
    results = {
        "platform": platform.platform(),
        "cpu": cpu,
        "versions": hardware.versions(),
        "settings": {"windows": windows, "window_steps": window_steps or "per case"},
    }
    if "first_step" in names:  # first, while this process is still idle
        _progress("first_step")
        results["first_step"] = measure_first_step(timeout_s=300)
    calls, matmuls = {}, {}
    if "matmul" in names:
        size = flags.FLAGS.matmul_size
        for dtype in ("float32", "bfloat16") if cpu["bf16_units"] else ("float32",):
            call = hardware.matmul_call(size=size, dtype=dtype)
            call()  # warm-up: oneDNN picks and caches its kernel
            matmuls[dtype] = calls[f"matmul_{dtype}"] = (call, 1)
    records, running = {}, {}
    for name in names:
        if name in cases.CASES:
            _progress(f"{name}: build, trace, warm up")
            started = start_case(cases.CASES[name], window_steps=window_steps)
            if isinstance(started, _Running):
                running[name] = started
                calls[name] = (started.prepared.call, started.calls)
            else:
                records[name] = started
    _progress(f"{windows} windows of {len(calls)} cases and matmuls, interleaved")
    times = timing.interleaved_window_times(calls, windows=windows, rewarm=1)
    for name, r in running.items():
        records[name] = finish_case(r, times[name])
    results["cases"] = {name: records[name] for name in names if name in records}
    if matmuls:
        flops = 2 * flags.FLAGS.matmul_size**3
        results["matmul"] = {
            dtype: {
                "size": flags.FLAGS.matmul_size,
                "gflops": flops / timing.median(times[f"matmul_{dtype}"]) / 1e9,
                "window_gflops": [flops / t / 1e9 for t in times[f"matmul_{dtype}"]],
            }
            for dtype in matmuls
        }
    if "input" in names:
        _progress("input")
        results["input"] = measure_input(files=flags.FLAGS.input_files, windows=windows)
    results["peak_rss_mib"] = timing.peak_rss_mib()
    return results


def _progress(name: str) -> None:
    print(f"{_PROGRAM}: measuring {name}", file=sys.stderr, flush=True)  # stdout: report only


def check_selection(program: str, flag: str, names: list[str], valid) -> None:
    """Ends ``program`` with a usage error if ``--flag`` names nothing or an unknown name.

    Args:
        program: the program's name, for the error line.
        flag: the list flag, e.g. "cases"; its items name one thing each.
        names: the items given.
        valid: the names allowed, in the order the error lists them.
    """
    unknown = ", ".join(repr(name) for name in names if name not in valid)
    if unknown or not names:
        problem = f"unknown {flag[:-1]} {unknown}" if unknown else "none given"
        cli.fail(program, f"--{flag}: {problem}; valid: {','.join(valid)}", cli.USAGE_ERROR)


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    start = time.perf_counter()
    names, output = flags.FLAGS.cases, flags.FLAGS.output
    check_selection(_PROGRAM, "cases", names, [*cases.CASES, *PARTS])
    if output:
        cli.check_output_file(_PROGRAM, output, (".json",))
    cli.quiet_tensorflow()
    try:
        results = measure_all(
            names, windows=flags.FLAGS.windows, window_steps=flags.FLAGS.window_steps or None
        )
    except RuntimeError as e:
        cli.fail(_PROGRAM, e, 1)
    targets = report.evaluate_targets(results)
    results["targets"] = targets
    results["total_s"] = time.perf_counter() - start
    print(report.format_report(results, targets), flush=True)
    print(f"total: {results['total_s']:.0f} s", flush=True)
    if output:
        with open(output, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    retraced = [n for n, r in results["cases"].items() if (r.get("traces") or 1) != 1]
    if retraced:  # then the timings include tracing: fail, after reporting them
        cli.fail(_PROGRAM, f"retraced in {', '.join(retraced)}; see 'traces'", 1)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
