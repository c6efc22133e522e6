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
from dcgan.benchmarks import cases, hardware, step, timing
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
_FIRST_STEP_MARKER = "step 1/"  # dcgan.loop's log line after the first step
# The CelebA recipe dcgan.benchmarks.data times: 218x178 JPEGs, crop 108, resize 64.
_CELEBA = "jpeg_218x178_celeba_crop108"
# The trainer's DCGAN-64 cases: every `updates` mode, XLA, bfloat16.
_DCGAN64_STEPS = tuple(
    name for name, c in cases.CASES.items() if c.base == "dcgan64" and c.kind == "train_step"
)


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
            for line in child.stdout:  # read to the end: the child must not block on it
                if seconds is None and line.startswith(_FIRST_STEP_MARKER):
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


@dataclasses.dataclass(frozen=True)
class Target:
    """A target of the issue: ``value >= bound`` (``at_least``) or ``value <= bound``."""

    name: str
    bound: float
    at_least: bool
    unit: str = "x"

    def status(self, value: float | None) -> str:
        """PASS or MISS; n/a when the figures it needs were not measured."""
        if value is None:
            return "n/a"
        passed = value >= self.bound if self.at_least else value <= self.bound
        return "PASS" if passed else "MISS"


TARGETS = {
    "vs_keras": Target("DCGAN-64 NS step vs Keras train_on_batch loop", 1.15, True),
    "vs_plain": Target("DCGAN-64 NS step vs plain tf.function step", 1.0, True),
    "flop_rate": Target("DCGAN-64 FLOP rate / matmul rate, same precision", 75.0, True, "%"),
    "gp_critic": Target("WGAN-GP critic update / clipping critic update", 1.7, False),
    "gp_lazy4": Target("WGAN-GP critic, penalty every 4th / clipping", 1.25, False),
    "ring2d_loop": Target("ring2d steps_per_loop=100 vs 1 step per call", 1.5, True),
    "traces": Target("traces per compiled function (most)", 1, False, ""),
    "first_step": Target("first finished step after process start", 15.0, False, "s"),
    "input": Target("CelebA-shaped input images/s / DCGAN-64 consumption", 3.0, True),
}


def _s(results: dict, name: str | None) -> float | None:
    """A case's median seconds per step; None if it did not run."""
    record = results.get("cases", {}).get(name)
    return None if record is None or "skipped" in record else record["s_per_step"]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or denominator is None else numerator / denominator


def fastest_dcgan64(results: dict, float32_only: bool = False) -> str | None:
    """The trainer's fastest DCGAN-64 case that ran (any ``updates`` mode or precision;
    only float32 ones, the baselines' precision, with ``float32_only``)."""
    names = [
        name
        for name in _DCGAN64_STEPS
        if not float32_only or "precision" not in cases.CASES[name].overrides
    ]
    timed = [(_s(results, name), name) for name in names if _s(results, name)]
    return min(timed)[1] if timed else None


def evaluate_targets(results: dict) -> list[dict[str, object]]:
    """Every target of issue 16 with its measured value and PASS, MISS or n/a.

    The DCGAN-64 targets are given for the default ``updates`` ("dcgan64"), again for
    the fastest float32 DCGAN-64 case (the baselines' precision), and again for the
    fastest of all, each when it is another.

    Args:
        results: ``{"cases": {name: record}, "matmul": {dtype: {"gflops"}},
            "first_step": {"seconds"}, "input": {"images_per_sec"}}``; a part or case
            not run makes its targets n/a.
    """
    rows = []

    def add(key: str, value: float | None, note: str = "") -> None:
        target = TARGETS[key]
        rows.append(
            {"key": key, **dataclasses.asdict(target), "value": value, "note": note}
            | {"status": target.status(value)}
        )

    fastest = fastest_dcgan64(results)
    fastest_float32 = fastest_dcgan64(results, float32_only=True)
    matmul = {dtype: r.get("gflops") for dtype, r in results.get("matmul", {}).items()}
    labels = {fastest_float32: " (fastest float32)", fastest: " (fastest)"}
    for name in dict.fromkeys(("dcgan64", fastest_float32 or "dcgan64", fastest or "dcgan64")):
        s = _s(results, name)
        note = f"{name}{labels.get(name, '')}{'' if s else ': not run'}"
        add("vs_keras", _ratio(_s(results, "keras_train_on_batch"), s), note)
        add("vs_plain", _ratio(_s(results, "plain_tf_function"), s), note)
        gflops = results["cases"][name]["gflop_per_s"] if s else None
        # A case's ceiling is the matmul rate of its own precision.
        bf16 = "bfloat16" in cases.CASES[name].overrides.get("precision", "")
        ceiling = matmul.get("bfloat16" if bf16 else "float32")
        add("flop_rate", _ratio(gflops, ceiling and ceiling / 100), note + bf16 * " vs bf16")
    clip = _s(results, "wgan_clip_critic")
    add("gp_critic", _ratio(_s(results, "wgan_gp_critic"), clip))
    add("gp_lazy4", _ratio(_s(results, "wgan_gp_lazy4_critic"), clip))
    add("ring2d_loop", _ratio(_s(results, "ring2d"), _s(results, "ring2d_loop100")))
    counts = {n: r["traces"] for n, r in results.get("cases", {}).items() if r.get("traces")}
    most = max(counts.values()) if counts else None
    add("traces", most, f"{len(counts)} functions; Keras's own not counted")
    add("first_step", results.get("first_step", {}).get("seconds"))
    demand = 64 / _s(results, fastest) if fastest else None  # batch 64 per step
    supply = results.get("input", {}).get("images_per_sec")
    add("input", _ratio(supply, demand), f"consumption of {fastest}" if fastest else "")
    return rows


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_report(results: dict, targets: list[dict[str, object]]) -> str:
    """The printed report: machine, cases table, other figures, targets."""
    cpu, versions = results["cpu"], results["versions"]
    lines = [
        f"CPU: {cpu['model']}, {cpu['cpu_count']} cores; flags: {' '.join(cpu['flags'])}",
        f"TensorFlow {versions['tensorflow']}, Keras {versions['keras']}, Python "
        f"{versions['python']}, oneDNN {versions['onednn']}",
        f"Times: median of {results['settings']['windows']} windows after warm-up, the "
        "windows of cases and matmuls interleaved, each after one untimed call; "
        "spread = (max - min) / median.",
        "",
    ]
    rows = [
        ["case", "what", "steps/window", "s/step", "steps/s", "spread", "GFLOP/step"]
        + ["GFLOP/s", "1st call s", "traces"]
    ]
    skipped = []
    for r in results["cases"].values():
        if "skipped" in r:
            skipped.append(f"skipped {r['case']}: {r['skipped']}")
            continue
        rows.append(
            [
                r["case"],
                r["summary"],
                str(r["calls_per_window"] * r["steps_per_call"]),
                f"{r['s_per_step']:.4f}",
                f"{r['steps_per_s']:.2f}",
                f"{100 * r['spread']:.0f}%",
                _number(r["gflop_per_step"], 1),
                _number(r["gflop_per_s"], 0),
                f"{r['first_call_s']:.1f}",
                "Keras" if r["traces"] is None else str(r["traces"]),
            ]
        )
    if len(rows) > 1:
        lines += [timing.render_table(rows, left=2), *skipped, ""]
    lines += _other_figures(results)
    rows = [["", "target", "for", "value", "bound"]]
    for t in targets:
        digits = {"x": 2, "%": 0, "s": 1, "": 0}[t["unit"]]
        value = "-" if t["value"] is None else f"{t['value']:.{digits}f}{t['unit']}"
        bound = f"{'>=' if t['at_least'] else '<='} {t['bound']:g}{t['unit']}"
        rows.append([t["status"], t["name"], t["note"], value, bound])
    lines += ["", "targets:", timing.render_table(rows, left=3)]
    return "\n".join(lines)


def _other_figures(results: dict) -> list[str]:
    lines = [
        "GFLOP/step: conv, transposed conv and dense layers, from their shapes, in the passes",
        "the step must run (dcgan.benchmarks.hardware); GFLOP/s = GFLOP/step / s/step.",
    ]
    matmul = results.get("matmul")
    if matmul:
        rates = ", ".join(f"{d} {m['gflops']:,.0f} GFLOP/s" for d, m in matmul.items())
        lines.append(f"matmul {matmul['float32']['size']}x{matmul['float32']['size']}: {rates}")
    first = results.get("first_step")
    if first:
        lines.append(
            f"first step: {first['seconds']:.1f} s from spawning `{first['command']} "
            "--workdir=TMP` to its step-1 log line"
        )
    data = results.get("input")
    if data:
        fastest = fastest_dcgan64(results)
        demand = f"; {fastest} consumes {64 / _s(results, fastest):.0f}" if fastest else ""
        lines.append(
            f"input: {data['images_per_sec']:,.0f} images/s from {data['files']} CelebA-shaped "
            f"JPEGs (218x178, center crop 108, resize 64){demand}"
        )
    lines.append(
        f"peak RSS: {results['peak_rss_mib']:,.0f} MiB (ru_maxrss: this process, whole run; "
        "the first-step child not included)"
    )
    return lines


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
    """Runs the selected cases and parts; returns the results ``evaluate_targets`` reads.

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


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    start = time.perf_counter()
    names, output = flags.FLAGS.cases, flags.FLAGS.output
    step.check_selection(_PROGRAM, "cases", names, [*cases.CASES, *PARTS])
    if output:
        cli.check_output_file(_PROGRAM, output, (".json",))
    cli.quiet_tensorflow()
    try:
        results = measure_all(
            names, windows=flags.FLAGS.windows, window_steps=flags.FLAGS.window_steps or None
        )
    except RuntimeError as e:
        cli.fail(_PROGRAM, e, 1)
    targets = evaluate_targets(results)
    results["targets"] = targets
    results["total_s"] = time.perf_counter() - start
    print(format_report(results, targets), flush=True)
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
