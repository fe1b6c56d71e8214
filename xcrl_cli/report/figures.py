"""The report's figures, drawn with matplotlib's object API (no global pyplot state) and saved as PNG bytes without
a Software/date stamp, so the same numbers give the same bytes and DVC sees no change where there is none."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

Series = Mapping[str, Sequence[tuple[float, float, float]]]  # label -> [(x, mean, std)]


def _png(fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _figure(width: float, height: float, panels: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def grouped_bars_png(groups: Sequence[str], bars: Mapping[str, Mapping[str, tuple[float, float]]], title: str,
                     xlabel: str, ylabel: str, markers: Mapping[str, Mapping[str, float]] | None = None,
                     lines: Mapping[str, float] | None = None) -> bytes:
    """One group per entry of `groups`, one bar per label of `bars` (label -> group -> (mean, std)), std as error;
    `markers` (label -> group -> value) a short black line across each group, `lines` (label -> value) dashed
    horizontal lines across the plot."""
    fig, (ax,) = _figure(7.0, 3.6)
    width = 0.8 / max(len(bars), 1)
    for i, (label, by_group) in enumerate(bars.items()):
        shown = [(j, by_group[g]) for j, g in enumerate(groups) if g in by_group]
        xs = [j + (i - (len(bars) - 1) / 2) * width for j, _ in shown]
        ax.bar(xs, [m for _, (m, _) in shown], width, yerr=[s for _, (_, s) in shown], capsize=2, label=label)
    for label, by_group in (markers or {}).items():
        shown = [(j, by_group[g]) for j, g in enumerate(groups) if g in by_group]
        for k, (j, value) in enumerate(shown):
            ax.hlines(value, j - 0.45, j + 0.45, colors="k", linewidth=1.5, label=label if k == 0 else None)
    for k, (label, value) in enumerate((lines or {}).items()):
        ax.axhline(value, linestyle="--", linewidth=1, color=f"C{len(bars) + k}", label=label)
    ax.set_xticks(range(len(groups)), groups)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize="small")
    return _png(fig)


def heatmap_png(rows: Sequence[str], columns: Sequence[str], panels: Mapping[str, np.ndarray],
                reference: Mapping[str, float], title: str) -> bytes:
    """One heat-map per panel (title -> rows × columns of percentages, NaN where a space does not exist), each
    cell printed; `reference` (panel -> value, e.g. chance) is written under the panel's title."""
    fig, axes = _figure(4.2 * len(panels), 0.45 * len(rows) + 1.6, len(panels))
    for ax, (name, values) in zip(axes, panels.items()):
        image = ax.imshow(np.ma.masked_invalid(values), vmin=0, vmax=100, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color="w" if v < 60 else "k")
        ax.set_xticks(range(len(columns)), columns)
        ax.set_yticks(range(len(rows)), rows if ax is axes[0] else [""] * len(rows))
        ax.set_title(f"{name}\n(chance {reference[name]:.1f}%)" if name in reference else name, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.05)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def lines_png(panels: Mapping[str, Series], xlabel: str, title: str) -> bytes:
    """One panel per entry (y-axis label -> series), each series a line with std error bars."""
    fig, axes = _figure(5.0 * len(panels), 3.6, len(panels))
    for ax, (ylabel, series) in zip(axes, panels.items()):
        for label, points in series.items():
            xs, ys, errs = zip(*points) if points else ((), (), ())
            ax.errorbar(xs, ys, yerr=errs, marker="o", capsize=2, label=label)
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.legend(fontsize="small")
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def forest_png(groups: Mapping[str, Sequence[tuple[str, float, float, float]]], xlabel: str, title: str) -> bytes:
    """A forest plot: one panel per group (e.g. a table), one row per (label, estimate, low, high), the interval as a
    horizontal bar, a vertical line at 0; intervals that exclude 0 are drawn dark, the others grey."""
    groups = {name: rows for name, rows in groups.items() if rows}
    heights = [len(rows) for rows in groups.values()] or [1]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 0.32 * sum(heights) + 0.9 * len(heights) + 0.6), dpi=100)
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (name, rows) in zip(axes, groups.items()):
        ys = np.arange(len(rows))[::-1]
        for y, (_, estimate, low, high) in zip(ys, rows):
            colour = "tab:blue" if low > 0 or high < 0 else "0.55"
            ax.plot([low, high], [y, y], color=colour, linewidth=2)
            ax.plot([estimate], [y], "o", color=colour, markersize=4)
        ax.axvline(0.0, color="k", linewidth=0.8)
        ax.set_yticks(ys, [label if len(label) <= 70 else label[:67] + "..." for label, *_ in rows], fontsize=7)
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel(xlabel, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _png(fig)
