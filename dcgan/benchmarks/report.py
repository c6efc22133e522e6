"""The report of ``dcgan.benchmarks.perf``: its targets with PASS or MISS, and the table.

Every target is a ratio of two figures measured in the same run (or a bound on one
figure such as the trace count), so machines and days never mix.
"""

from __future__ import annotations

import dataclasses

from dcgan.benchmarks import cases, timing

# The trainer's DCGAN-64 cases: every `updates` mode, XLA, bfloat16.
_DCGAN64_STEPS = tuple(
    name for name, c in cases.CASES.items() if c.base == "dcgan64" and c.kind == "train_step"
)


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
