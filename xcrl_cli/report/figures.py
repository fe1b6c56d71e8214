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
                     xlabel: str, ylabel: str) -> bytes:
    """One group per entry of `groups`, one bar per label of `bars` (label -> group -> (mean, std)), std as error."""
    fig, (ax,) = _figure(7.0, 3.6)
    width = 0.8 / max(len(bars), 1)
    for i, (label, by_group) in enumerate(bars.items()):
        shown = [(j, by_group[g]) for j, g in enumerate(groups) if g in by_group]
        xs = [j + (i - (len(bars) - 1) / 2) * width for j, _ in shown]
        ax.bar(xs, [m for _, (m, _) in shown], width, yerr=[s for _, (_, s) in shown], capsize=2, label=label)
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
