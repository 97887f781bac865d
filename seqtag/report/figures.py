"""The drawing shared by the report and the comparison page: matplotlib set up once, figures as inline SVG with a
table of their numbers, legends beside the plot, y ranges fitted to the data, one colour per model and fixed
colours for the outcomes of a span."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path

from seqtag.errors import DataError

MODEL_COLOURS = ["#0072B2", "#CC79A7", "#56B4E9", "#000000", "#999999", "#882255"]  # Okabe-Ito, then two greys
OUTCOME_COLOURS = {"correct": "#009E73", "wrong type": "#E69F00", "wrong boundaries": "#F0E442", "missed": "#D55E00"}


def pyplot():
    try:
        import matplotlib
    except ImportError:
        raise DataError("reports draw their figures with matplotlib: pip install 'seqtag-nlp[report]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "seqtag", "font.size": 10,
                                "axes.prop_cycle": matplotlib.cycler(color=MODEL_COLOURS)})
    import matplotlib.pyplot as plt

    return plt


def svg(fig, description: str) -> str:
    """The figure as inline SVG, labelled for screen readers."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    pyplot().close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(description)}" ', 1)


def table(header: Sequence[str], rows: Sequence[Sequence], caption: str) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>'


def figure(svg: str, table: str) -> str:
    return f'<div class="figure"><figure>{svg}</figure>{table}</div>'


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def legend(axis) -> None:
    """A legend beside the plot, where it covers no data."""
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def fit(axis, values: list[float]) -> None:
    """The y range fitted to percentages, so that a small difference shows; the ticks say where the axis starts."""
    if values:
        low, high = min(values), max(values)
        bottom = max(0.0, 5 * ((low - 0.1 * (high - low) - 2) // 5))
        top = high + 0.15 * (high - bottom) + 1  # room for the value labels
        axis.set_ylim(bottom, top)
        axis.set_yticks([t for t in axis.get_yticks() if bottom <= t <= min(top, 100)])  # no tick past 100%


def short_names(paths: Sequence[str]) -> list[str]:
    """Names for titles and legends: each model folder's name, with as much of its path as tells them apart."""
    parts = [Path(p).parts for p in paths]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def page(title: str, body: str) -> str:
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 1em .5em 0;font-size:.85em;vertical-align:top}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}caption{font-weight:bold;text-align:left}"
        ".figure{display:flex;flex-wrap:wrap;align-items:flex-start}.figure figure{margin:0 1em 0 0}"
        ".figure table{max-height:28em;overflow:auto;display:block}.row{display:flex;flex-wrap:wrap}"
        "svg{max-width:100%;height:auto}mark.span{background:#c6ecdf;padding:0 2px}mark.bad{background:#f7cdb3}"
        "sub{font-size:.7em;color:#555}sub.bad{color:#D55E00;font-weight:bold}.errors li{margin-bottom:.6em}"
        ".count{color:#555;font-size:.85em}"
    )
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")
