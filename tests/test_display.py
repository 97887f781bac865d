"""`seqtag tag --output-format html` and the Jupyter display of a result: entities marked by type, the text as given,
markup in the input escaped, and a page a browser renders."""

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqtag
from seqtag.data import labels as L
from seqtag.runtime import display
from seqtag.runtime.tagging import Tagged


class Marks(HTMLParser):
    """The (text, label, colour) of every <mark>, and the page's visible text."""

    def __init__(self):
        super().__init__()
        self.marks, self.text, self._inside, self._label = [], [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "mark":
            self._inside = ["", "", dict(attrs)["style"].split("background: ")[1].split(";")[0]]
        elif tag == "span" and self._inside is not None:
            self._label = True

    def handle_endtag(self, tag):
        if tag == "mark":
            self.marks.append((self._inside[0], self._inside[1], self._inside[2]))
            self._inside = None
        elif tag == "span":
            self._label = False

    def handle_data(self, data):
        if self._inside is not None:
            self._inside[1 if self._label else 0] += data
        if not self._label:
            self.text.append(data)


def marks_of(html: str) -> Marks:
    parser = Marks()
    parser.feed(html)
    return parser


def test_entities_are_marked_with_their_type_over_the_text_as_given():
    text = "Peter  Blackburn went to <Paris> & the EU."
    tokens = ["Peter", "Blackburn", "went", "to", "<", "Paris", ">", "&", "the", "EU", "."]
    offsets = [(0, 5), (7, 16), (17, 21), (22, 24), (25, 26), (26, 31), (31, 32), (33, 34), (35, 38), (39, 41), (41, 42)]
    labels = ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O", "O", "O", "B-ORG", "O"]
    result = Tagged(tokens, labels, L.Scheme.IOB2, offsets=offsets, text=text)
    page = marks_of(result._repr_html_())
    assert [(t, label) for t, label, _ in page.marks] == [("Peter  Blackburn", "PER"), ("Paris", "LOC"), ("EU", "ORG")]
    assert "".join(page.text) == text  # nothing lost or added, markup shown as text
    assert [c for *_, c in page.marks] == [display.COLOURS["PER"], display.COLOURS["LOC"], display.COLOURS["ORG"]]


def test_each_sentence_of_a_line_shows_its_own_part_of_the_line():
    """Raw text is split into sentences, each with offsets into the whole line: a sentence's paragraph holds its own
    words, not the line again (it did: every sentence of a line repeated the whole line)."""
    from seqtag.runtime.tagging import tag_units, units_from_texts

    class Capitalized:  # a stand-in predictor: a capitalized word is a one-word PER
        scheme, nbest_score = L.Scheme.IOB2, "score"

        def predict(self, sentences):
            return [["B-PER" if t[0].isupper() else "O" for t in s.tokens] for s in sentences]

    line = "  Anna met  Bob. Then  they left!  Carl <stayed>. "
    results = tag_units(Capitalized(), list(units_from_texts([line], False, sentences=True)))
    pages = [marks_of(display.sentence_html(result)) for result in results]
    assert ["".join(page.text) for page in pages] == ["Anna met  Bob.", "Then  they left!", "Carl <stayed>."]
    assert [[t for t, *_ in page.marks] for page in pages] == [["Anna", "Bob"], ["Then"], ["Carl"]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "<b>", "&", "x\"y", "Zoë"]),
                          st.sampled_from(["O", "B-PER", "I-PER", "B-WEIRD", "I-WEIRD"])), max_size=12))
def test_tokens_without_offsets_keep_every_span_and_one_colour_per_type(pairs):
    tokens, labels = [t for t, _ in pairs], [label for _, label in pairs]
    result = Tagged(tokens, labels, L.Scheme.IOB2)
    page = marks_of(display.fragment([result, result]))
    expected = [(" ".join(tokens[s.start:s.end]), s.label) for s in L.to_spans(labels, L.Scheme.IOB2)] * 2
    assert [(t, label) for t, label, _ in page.marks] == expected
    assert " ".join("".join(page.text).split()) == " ".join(" ".join(tokens).split() * 2)
    colours = {}
    for _, label, colour in page.marks:
        assert colours.setdefault(label, colour) == colour


def test_tag_layers_show_each_tag_under_its_word_and_segmentation_shows_words():
    pos = display.sentence_html(Tagged(["I", "ran"], ["PRON", "VERB"], L.Scheme.PLAIN))
    assert pos.count("<br>") == 2 and "PRON" in pos and "VERB" in pos and "<mark" not in pos
    words = display.sentence_html(Tagged(list("北京大学"), ["B", "M", "M", "E"], L.Scheme.BMES))
    assert words.count("border-bottom") == 1 and "北京大学" in words


@pytest.mark.slow
def test_tag_writes_a_page_with_one_mark_per_span_and_a_browser_renders_it(tmp_path):
    model = tmp_path / "model"
    seqtag.train(model="hmm", output=model)
    text = "Peter Blackburn went to Paris to meet the EU.\nEU rejects German call to boycott British lamb.\n"

    def tag(*options):
        done = subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", str(model), *options], input=text,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    spans = [(s["text"], s["label"]) for line in tag("--output-format", "jsonl").splitlines()
             for s in json.loads(line)["spans"]]
    html = tag("--output-format", "html")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert [(t, label) for t, label, _ in marks_of(html).marks] == spans and spans
    (tmp_path / "page.html").write_text(html)
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): the page was checked, not rendered")
    from matplotlib.image import imread

    shot = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--screenshot={tmp_path / 'page.png'}", "--window-size=1000,400",
                           (tmp_path / "page.html").as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr
    pixels = imread(tmp_path / "page.png")
    assert pixels.std() > 0.05  # text and coloured marks drawn


@pytest.mark.slow
def test_tag_shows_progress_on_a_terminal_stderr_and_stdout_keeps_every_line(tmp_path):
    import os
    import pty

    model = tmp_path / "model"
    seqtag.train(model="hmm", output=model)
    (tmp_path / "in.txt").write_text("Peter Blackburn went to Paris .\n" * 5000)
    leader, follower = pty.openpty()  # stderr is a terminal, stdout a pipe
    with open(tmp_path / "in.txt", "rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", str(model), "--input-format", "tokens"],
                              stdin=stdin, stdout=subprocess.PIPE, stderr=follower, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0
    assert done.stdout.count(b"\n") == 5000 * 7 and done.stdout.startswith(b"Peter\t")  # nothing drawn into it
    assert b"lines read" in shown


def test_an_entity_s_probability_is_its_tooltip_and_a_hostile_label_stays_inside_it():
    tokens, labels = ["Peter", "went", "to", "Paris"], ["B-PER", "O", "O", 'B-"><script>']
    result = Tagged(tokens, labels, L.Scheme.IOB2, span_probs={(0, 1, "PER"): 0.987, (3, 4, '"><script>'): 0.5})
    titles = []

    class Titles(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "mark":
                titles.append(dict(attrs).get("title"))
            assert tag != "script"

    Titles().feed(result._repr_html_())
    assert titles == ["PER 98.7%", '"><script> 50.0%']
    plain = Tagged(tokens, labels[:3] + ["O"], L.Scheme.IOB2)  # no probabilities asked: no tooltip
    assert "title=" not in plain._repr_html_()
