"""Raw text is split into sentences (seqtag.data.tokens.sentence_starts), each tagged alone with its offsets
into the line it came from; a person typing at a terminal sees each line's tags as soon as it is entered."""

import json
import subprocess
import sys
import threading

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.data.tokens import sentence_starts

PARAGRAPH = "Peter Blackburn went to Paris. Mr. Smith met the EU in Brussels! Did the U.S. agree?"
SENTENCES = ["Peter Blackburn went to Paris.", "Mr. Smith met the EU in Brussels!", "Did the U.S. agree?"]


def test_a_paragraph_is_split_where_its_sentences_start():
    starts = sentence_starts(PARAGRAPH)
    assert [PARAGRAPH[a:b].strip() for a, b in zip(starts, [*starts[1:], None])] == SENTENCES


@pytest.mark.parametrize("text", ["  " + PARAGRAPH, "\t \u00a0" + PARAGRAPH + "  "])
def test_spaces_before_the_first_sentence_are_not_a_sentence(text):
    starts = sentence_starts(text)  # they made an empty first sentence: an empty record, a blank line in CoNLL
    assert starts[0] == 0 and [text[a:b].strip() for a, b in zip(starts, [*starts[1:], None])] == SENTENCES


def test_a_long_line_is_split_a_window_at_a_time_as_it_would_be_whole(monkeypatch):
    from seqtag.data import tokens

    text = " ".join(f"Sentence number {i} ends here. Mr. Smith said so!" for i in range(40))
    whole = sentence_starts(text)
    monkeypatch.setattr(tokens, "SPLIT_WINDOW", 300)
    monkeypatch.setattr(tokens, "SPLIT_MARGIN", 60)
    assert sentence_starts(text) == whole and len(whole) == 80
    monkeypatch.setattr(tokens, "SPLIT_WINDOW", 20)  # no sentence fits: cut at each window's end, nothing lost
    monkeypatch.setattr(tokens, "SPLIT_MARGIN", 5)
    cut = sentence_starts(text)
    assert cut == sorted(set(cut)) and cut[0] == 0 and all(b - a <= 20 for a, b in zip(cut, cut[1:]))


def test_tag_splits_each_line_and_says_where_each_sentence_came_from(hmm_model, monkeypatch, capsys):
    lines = f"{PARAGRAPH}\n\nEU rejects German call.\n"
    monkeypatch.setattr(sys, "stdin", _stdin(lines))
    assert cli.run(["tag", "-m", str(hmm_model), "--output-format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["line"], r["sentence"]) for r in records] == [(1, 0), (1, 1), (1, 2), (2, 0), (3, 0)]
    texts = lines.split("\n")
    for record in records:  # offsets point into the input line, whatever sentence the token is in
        assert [texts[record["line"] - 1][a:b] for a, b in record["offsets"]] == record["tokens"]
    assert " ".join(records[1]["tokens"]) == "Mr. Smith met the EU in Brussels !"
    monkeypatch.setattr(sys, "stdin", _stdin(lines))
    assert cli.run(["tag", "-m", str(hmm_model), "--output-format", "jsonl", "--no-split"]) == 0
    whole = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(whole) == 3 and "line" not in whole[0]
    assert whole[0]["tokens"] == [t for r in records[:3] for t in r["tokens"]]


def test_the_python_api_splits_a_text_the_same_way(hmm_model):
    model = seqtag.load(hmm_model)
    result = model.tag(PARAGRAPH)
    assert [" ".join(part.tokens) for part in result.parts] == [
        "Peter Blackburn went to Paris .", "Mr. Smith met the EU in Brussels !", "Did the U.S. agree ?"]
    assert result.tokens == [t for part in result.parts for t in part.tokens]
    assert all(PARAGRAPH[span.char_start:span.char_end] == span.text for span in result.spans)
    assert [s.text for s in result.spans] == [s.text for part in result.parts for s in part.spans]
    assert model.tag(PARAGRAPH, tokenized=True).parts is None  # whitespace tokens: one sentence, as given
    assert "line" not in model.tag("EU rejects German call.").record()  # line numbers are the command line's


def test_interactive_tagging_answers_each_line_before_the_input_ends(hmm_model):
    process = subprocess.Popen([sys.executable, "-m", "seqtag", "tag", "-m", str(hmm_model), "--interactive"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    answered = []
    reader = threading.Thread(target=lambda: answered.append(process.stdout.readline()), daemon=True)
    reader.start()
    process.stdin.write("Peter went to Paris.\n")
    process.stdin.flush()
    reader.join(timeout=60)  # stdin is still open: only a line tagged as it came can have been written
    try:
        assert answered and answered[0].startswith("Peter\t")
    finally:
        process.stdin.close()
        process.wait(timeout=60)


def _stdin(text: str):
    import io

    return io.TextIOWrapper(io.BytesIO(text.encode()))


@pytest.mark.slow
def test_the_splitter_finds_the_sentences_of_ewt_paragraphs(shared_corpora):
    """The measured figure (docs/tagging.md): boundary F1 84.6 on EWT dev, the paragraphs rebuilt from its text."""
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import sentence_split

    data = sentence_split.paragraphs(shared_corpora / "ud_en_ewt" / "en_ewt-ud-dev.conllu")
    gold = predicted = correct = 0
    for text, ends in data:
        found = {start for start in sentence_starts(text)[1:]}
        truth = {end + 1 for end in ends}  # a sentence starts after the space that follows the one before
        gold, predicted, correct = gold + len(truth), predicted + len(found), correct + len(found & truth)
    precision, recall = correct / predicted, correct / gold
    assert 2 * precision * recall / (precision + recall) >= 0.84


@pytest.mark.parametrize("how", [{"sentences": False}, {"sentences": True}, {"tokenized": True}])
def test_a_sentence_over_the_longest_is_cut_into_sentences_of_the_longest(how):
    """A line is read a piece of `longest` tokens at a time (memory bounded on a line of any length): each piece a
    unit with its offsets into the line, one warning for the line; a text that fits is one unit as before."""
    from seqtag.errors import SeqtagWarning
    from seqtag.runtime.tagging import units_from_texts

    line = " ".join(f"w{i}" for i in range(23)) + " ."
    with pytest.warns(SeqtagWarning, match="line 1: a sentence of more than 10 tokens is tagged and written as "
                                           "sentences of 10") as seen:
        units = list(units_from_texts([line], False, longest=10, **how))
    assert len(seen) == 1
    assert [len(unit[0]) for unit in units] == [10, 10, 4]
    assert [token for unit in units for token in unit[0]] == line.split()
    assert all([line[a:b] for a, b in unit[1]] == unit[0] for unit in units)
    assert [unit[5] for unit in units] == ([(1, 0), (1, 1), (1, 2)] if how.get("sentences") else [None] * 3)
    whole = list(units_from_texts([line], False, longest=None, **how))
    assert len(whole) == 1 and whole[0][0] == line.split()
    exactly = " ".join(["w"] * 10)  # as many as the longest: one unit, no warning
    assert [len(unit[0]) for unit in units_from_texts([exactly], False, longest=10, **how)] == [10]
