"""`seqtag report` and `compare --learning-curve/--html`: every section present, every figure a valid SVG with
labelled axes, the numbers in the figures' tables equal to what `seqtag evaluate --json` says; and, where Chromium
is installed, the page rendered as a browser shows it."""

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

import seqtag  # noqa: E402
from seqtag.cli import commands as cli  # noqa: E402

from conftest import DATA  # noqa: E402

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

SECTIONS = ["Model card", "Training", "Scores per label", "Known and unknown words", "Confusions",
            "Score by sentence length", "Worst errors"]


def run(*args) -> int:
    return cli.run([str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    seqtag.train(output=folder / "ner", hidden=16, layers=1, max_epochs=2)
    seqtag.train(model="hmm", output=folder / "hmm")
    seqtag.train(DATA / "pos/train.conllu", DATA / "pos/dev.conllu", DATA / "pos/test.conllu", model="perceptron",
                 output=folder / "pos", max_epochs=2)
    return folder


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, re.S)]


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter() if t.tag.endswith("text")] + \
        [t.text or "" for t in svg.iter() if t.tag.endswith("tspan")]


def table_rows(page: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<table><caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S).group(1)
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)][1:]


@pytest.mark.parametrize("names", [["ner"], ["ner", "hmm"], ["pos"]])
def test_the_report_holds_every_section_and_labelled_figures(models, tmp_path, names):
    paths = [models / name for name in names]
    assert run("report", *paths, "-o", tmp_path / "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert not re.search(r'(src|href)="(https?:|//)', page)  # nothing fetched: figures are inline
    for section in SECTIONS:
        assert f"<h2>{section}" in page, section
    figures = svgs(page)
    assert len(figures) >= 4
    for svg in figures:  # parsed as XML above; every figure has a title and axis labels (words, not tick numbers)
        assert svg.get("role") == "img" and svg.get("aria-label")
        words = [t for t in texts(svg) if re.search(r"[a-z]{3}", t)]
        assert len(words) >= 3, words
    training = next((svg for svg in figures if "Training loss per epoch" in texts(svg)), None)
    if names != ["pos"]:  # the perceptron logs no epochs: no curve
        assert {"epoch", "loss (mean per sentence)", "dev score (%)"} <= set(texts(training))


def test_the_report_numbers_equal_evaluate_json(models, tmp_path):
    assert run("evaluate", "-m", models / "hmm", DATA / "ner/test.txt", "--json", tmp_path / "e.json",
               "--bootstrap", "1000") == 0
    scores = json.loads((tmp_path / "e.json").read_text())
    assert run("report", models / "hmm", "--data", DATA / "ner/test.txt", "-o", tmp_path / "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    rows = table_rows(page, "Scores per entity type")
    assert rows and all(row[2] == f"{100 * scores['per_type'][row[1]]['precision']:.2f}" and
                        row[4] == f"{100 * scores['per_type'][row[1]]['f1']:.2f}" for row in rows)
    summary = table_rows(page, "Summary")[0]
    assert summary[4] == f"{100 * scores['f1']:.2f}"  # score, 95% interval (the same resamples), against the best
    assert summary[5:] == [f"{100 * scores['interval']['low']:.2f}-{100 * scores['interval']['high']:.2f}", "best"]


def test_two_models_on_one_file_get_a_paired_test_short_names_one_colour_each_and_value_labels(models, tmp_path):
    scores = {}
    for name in ("ner", "hmm"):
        assert run("evaluate", "-m", models / name, DATA / "ner/test.txt", "--json", tmp_path / f"{name}.json") == 0
        scores[name] = json.loads((tmp_path / f"{name}.json").read_text())["f1"]
    assert run("report", models / "ner", models / "hmm", "--data", DATA / "ner/test.txt", "-o", tmp_path / "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert "<title>seqtag report: ner, hmm</title>" in page  # folder names, not the paths
    best, other = sorted(scores, key=scores.get, reverse=True)
    rows = {row[0]: row for row in table_rows(page, "Summary")}
    assert rows[best][6] == "best"
    assert rows[other][6].startswith(f"{100 * (scores[other] - scores[best]):+.2f}, p ")
    bars = next(svg for svg in svgs(page) if "F1 per entity type" in texts(svg))
    per_type = {(row[0], row[1]): row[4] for row in table_rows(page, "Scores per entity type")}
    labels = [t for t in texts(bars) if re.fullmatch(r"\d+\.\d", t)]
    assert sorted(labels) == sorted(f"{float(f):.1f}" for f in per_type.values())  # a value on every bar
    fills = {}  # one colour per model, whichever figure: the legend's patch and the bars share it
    for svg in svgs(page):
        for element in svg.iter():
            style = element.get("style") or ""
            match = re.search(r"fill: (#[0-9a-f]{6})", style)
            if match:
                fills.setdefault(match.group(1), 0)
                fills[match.group(1)] += 1
    assert "#0072b2" in fills and "#cc79a7" in fills  # ner, then hmm


def test_a_tag_task_report_has_per_tag_accuracy_and_tag_confusions(models, tmp_path):
    assert run("report", models / "pos", "-o", tmp_path / "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert table_rows(page, "Scores per tag") and "most frequent tag confusions" in page
    scores = seqtag.load(models / "pos").evaluate(DATA / "pos/test.conllu")
    assert table_rows(page, "Summary")[0][4] == f"{100 * scores['accuracy']:.2f}"


def test_the_report_refuses_to_replace_what_it_did_not_write(models, tmp_path):
    (tmp_path / "mine.html").write_text("<p>my notes</p>")
    assert run("report", models / "hmm", "-o", tmp_path / "mine.html") == 2
    assert (tmp_path / "mine.html").read_text() == "<p>my notes</p>"
    assert run("report", models / "hmm", "-o", tmp_path / "r.html") == 0
    assert run("report", models / "hmm", "-o", tmp_path / "r.html") == 0  # its own report it replaces


def test_the_learning_curve_trains_every_model_on_growing_fractions(tmp_path):
    assert run("compare", "--train", DATA / "ner/train.txt", "--dev", DATA / "ner/dev.txt", "--test",
               DATA / "ner/test.txt", "--models", "majority,hmm", "--learning-curve", "0.25,0.5,1",
               "--json", tmp_path / "c.json", "--html", tmp_path / "c.html") == 0
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [(r["model"], r["fraction"]) for r in rows] == [(m, f) for f in (0.25, 0.5, 1.0) for m in ("majority", "hmm")]
    tokens = [r["train_tokens"] for r in rows if r["model"] == "hmm"]
    assert tokens == sorted(tokens) and tokens[-1] == seqtag.read(DATA / "ner/train.txt").num_tokens()
    full = seqtag.train(model="hmm").evaluate(DATA / "ner/test.txt")["f1"]
    assert rows[-1]["score"] == full  # the 100% point is the plain model
    page = (tmp_path / "c.html").read_text()
    (figure,) = svgs(page)
    assert "training tokens (log scale)" in texts(figure)
    assert run("compare", "--train", DATA / "ner/train.txt", "--test", DATA / "ner/test.txt",
               "--learning-curve", "0,2", "--models", "hmm") == 2


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_renders_the_report_without_errors(models, tmp_path):
    from matplotlib.image import imread

    assert run("report", models / "ner", models / "hmm", "-o", tmp_path / "r.html") == 0
    result = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                             "--v=0", f"--screenshot={tmp_path / 'r.png'}", "--window-size=1280,2000",
                             (tmp_path / "r.html").as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    pixels = imread(tmp_path / "r.png")
    assert pixels.shape[0] >= 1000 and pixels.std() > 0.05  # not blank: text and figures drawn


def test_train_draws_the_dev_curve_on_a_terminal(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from seqtag.cli import show

    records = [(1, 0.4), (2, 0.6), (3, 0.8), (4, 0.7)]
    (tmp_path / "train_log.jsonl").write_text("".join(
        json.dumps({"epoch": e, "dev": {"metric": "f1"}, "dev_score": s, "best_epoch": 3}) + "\n" for e, s in records))
    monkeypatch.setattr(show, "err", Console(file=io.StringIO(), force_terminal=True, width=100))
    show.dev_curve(tmp_path)
    first, second = show.err.file.getvalue().splitlines()
    assert first.endswith("▁▄█▆  40.00 .. 80.00") and second.index("^") == first.index("█")
    monkeypatch.setattr(show, "err", Console(file=io.StringIO(), force_terminal=False))
    show.dev_curve(tmp_path)  # piped: nothing drawn
    assert show.err.file.getvalue() == ""


def test_a_damaged_training_log_costs_the_figure_not_the_report(models, tmp_path):
    shutil.copytree(models / "ner", tmp_path / "ner")
    (tmp_path / "ner" / "train_log.jsonl").write_text('{"epoch": 1}\nnot json\n')
    assert run("report", tmp_path / "ner", "-o", tmp_path / "r.html") == 0
    assert "no training curve" in (tmp_path / "r.html").read_text()
