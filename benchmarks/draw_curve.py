"""Redraw a learning-curve figure (the SVG in docs/) from the rows of `seqtag compare --learning-curve --json`, with
the code `compare --html` draws it with: `python benchmarks/draw_curve.py ner.json docs/learning-curve-ner.svg`.

Only each row's model, fraction, train_tokens, metric and score are read, so the rows of a table (docs/experiments.md)
redraw the same figure."""

import json
import sys
from pathlib import Path

from seqtag.report.html import comparison_figure

rows_file, output = sys.argv[1:3]
rows = json.loads(Path(rows_file).read_text())["rows"]
svg = comparison_figure(rows)
Path(output).write_text('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + svg)
