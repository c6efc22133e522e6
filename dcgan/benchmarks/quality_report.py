"""What ``dcgan.benchmarks.quality`` shows: its Markdown tables, the plot of FID against
training seconds, and the sample grids."""

from __future__ import annotations

import numpy as np


def recipe_table(summaries: dict[str, dict], floor_fid: float, columns: tuple[str, ...]) -> str:
    """The recipes' mean ± std over seeds: the run, training, FID and ``columns``."""
    lines = [
        "| recipe | run (s) | training (s) | FID | x floor | " + " | ".join(columns) + " |",
        "|---|---|---|---|---|" + "---|" * len(columns),
    ]
    for name, s in summaries.items():
        cells = " | ".join(_spread(s, c) for c in columns)
        lines.append(
            f"| {name} | {_spread(s, 'seconds')} | {_spread(s, 'train_seconds')} | "
            f"{_spread(s, 'fid')} | {s['fid']['mean'] / floor_fid:.1f} | {cells} |"
        )
    return "\n".join(lines)


def peer_table(comparisons: list[dict], floor_fid: float) -> str:
    """Each peer at each recipe's training time, with the ratio of FIDs and its status."""
    lines = [
        "| at the time of | peer | steps | FID | x floor | precision | recall | coverage "
        "| peer FID / recipe FID | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        e = c["evaluation"]
        lines.append(
            f"| {c['recipe']} ({e['train_seconds']:.0f} s) | {c['peer']} | {e['steps']} | "
            f"{e['fid']:.1f} | {e['fid'] / floor_fid:.1f} | {e['precision']:.3f} | "
            f"{e['recall']:.3f} | {e['coverage']:.3f} | {c['ratio']:.2f} | {c['status']} |"
        )
    return "\n".join(lines)


def _spread(summary: dict, name: str) -> str:
    if name not in summary:
        return ""
    mean, std = summary[name]["mean"], summary[name]["std"]
    digits = 3 if abs(mean) < 10 else 1 if abs(mean) < 1000 else 0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def plot(recipes: dict, peer_runs: dict, references: dict[str, float], path: str) -> None:
    """FID (log scale) against training seconds: every recipe seed and every peer, with
    horizontal lines at ``references`` (the floor, the targets)."""
    import imageio.v3 as iio

    from dcgan.io import plots

    lines = {}
    for name, runs in recipes.items():
        for seed, run in runs.items():
            points = [e for e in run["evaluations"] if e.get("fid") is not None]
            lines[f"{name} seed {seed}"] = (
                [e["train_seconds"] for e in points],
                [e["fid"] for e in points],
            )
    for name, evaluations in peer_runs.items():
        lines[name] = ([e["train_seconds"] for e in evaluations], [e["fid"] for e in evaluations])
    figure = plots.curves_figure(
        [("FID (glyph classifier features)", lines, references)],
        title="glyph recipes and peer recipes, evaluated at their training time",
        xlabel="training seconds (evaluations not counted)",
        figsize=(9.6, 5.0),
    )
    figure.axes[0].set_yscale("log")
    iio.imwrite(path, plots.render(figure))


def write_grid(path: str, samples: np.ndarray) -> None:
    """An 8-column PNG grid of ``samples`` in [-1, 1]."""
    from dcgan.io import images

    images.write_png(path, images.make_grid(samples, columns=8))
