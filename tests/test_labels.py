import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtag.data import labels as L
from seqtag.data.labels import Scheme, Span


def test_spans_and_canonical_tags_per_scheme():
    spans = [Span(0, 2, "PER"), Span(2, 3, "PER"), Span(4, 5, "LOC")]
    assert L.from_spans(spans, 6, Scheme.IOB1) == ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O"]
    assert L.from_spans(spans, 6, Scheme.IOB2) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O"]
    assert L.from_spans(spans, 6, Scheme.BIOES) == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"]
    for scheme in (Scheme.IOB1, Scheme.IOB2, Scheme.BIOES):
        assert L.to_spans(L.from_spans(spans, 6, scheme), scheme) == spans


def test_invalid_sequences_read_as_conlleval_and_are_reported():
    tags = ["O", "I-PER", "I-LOC", "B-ORG", "I-ORG"]
    assert L.to_spans(tags, Scheme.IOB2) == [Span(1, 2, "PER"), Span(2, 3, "LOC"), Span(3, 5, "ORG")]
    assert L.repair(tags, Scheme.IOB2) == ["O", "B-PER", "B-LOC", "B-ORG", "I-ORG"]
    index, message = L.first_problem(tags, Scheme.IOB2)
    assert index == 1 and "'I-PER' after 'O'" in message
    assert L.first_problem(["B-PER", "O"], Scheme.BIOES)[0] == 0  # B- must be continued
    assert L.first_problem(["I-PER", "I-PER"], Scheme.IOB1) is None
    assert L.first_problem(["O", "B-PER"], Scheme.IOB1)[0] == 1  # IOB1's B- only between chunks of one type


def test_tags_outside_the_scheme_cannot_be_repaired():
    with pytest.raises(L.InvalidTag) as e:
        L.to_spans(["O", "S-PER"], Scheme.IOB2)
    assert e.value.index == 1


@pytest.mark.parametrize(
    "sequences, expected",
    [
        ([["I-PER", "O", "I-LOC", "B-LOC"]], Scheme.IOB1),
        ([["B-PER", "I-PER", "O"]], Scheme.IOB2),
        ([["B-PER", "E-PER", "S-LOC"]], Scheme.BIOES),
        ([["B", "E", "S"]], Scheme.BMES),
        ([["NN", "IN", "DT"]], Scheme.PLAIN),
        ([["B-NP", "I-NP", "I-VP"]], Scheme.IOB2),
    ],
)
def test_detect(sequences, expected):
    assert L.detect(sequences) is expected


@pytest.mark.parametrize("scheme", [Scheme.IOB1, Scheme.IOB2, Scheme.BIOES, Scheme.BMES])
def test_allowed_transitions_admit_exactly_the_valid_sequences(scheme):
    labels = ["B", "M", "E", "S"] if scheme is Scheme.BMES else ["O"] + [
        f"{p}-{t}" for t in "XY" for p in ("BIES" if scheme is Scheme.BIOES else "BI")
    ]
    start, transitions, end = L.allowed_transitions(labels, scheme)
    for length in (1, 2, 3):
        for seq in itertools.product(range(len(labels)), repeat=length):
            tags = [labels[i] for i in seq]
            allowed = start[seq[0]] and end[seq[-1]] and all(transitions[a][b] for a, b in zip(seq, seq[1:]))
            assert allowed == (L.first_problem(tags, scheme) is None), tags


def test_segmentation_round_trip():
    chars, tags = L.words_to_tags(["共同", "创造", "美好的", "新"])
    assert tags == ["B", "E", "B", "E", "B", "M", "E", "S"]
    assert L.segment_words(chars, tags) == ["共同", "创造", "美好的", "新"]


@st.composite
def span_sequences(draw):
    length = draw(st.integers(0, 12))
    spans, position = [], 0
    while position < length:
        position += draw(st.integers(0, 2))
        size = draw(st.integers(1, 3))
        if position + size > length:
            break
        spans.append(Span(position, position + size, draw(st.sampled_from(["PER", "LOC"]))))
        position += size
    return spans, length


@settings(deadline=None)  # shared CI machines are slow at times; the property, not the speed, is tested
@given(span_sequences(), st.sampled_from([Scheme.IOB1, Scheme.IOB2, Scheme.BIOES]))
def test_every_scheme_round_trips_through_every_other(data, scheme):
    spans, length = data
    tags = L.from_spans(spans, length, scheme)
    assert L.to_spans(tags, scheme) == spans
    assert L.first_problem(tags, scheme) is None
    for other in (Scheme.IOB1, Scheme.IOB2, Scheme.BIOES):
        assert L.convert(L.convert(tags, scheme, other), other, scheme) == tags


@settings(deadline=None)
@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "I-LOC", "B-LOC"]), max_size=10))
def test_repair_gives_a_valid_sequence_with_the_same_spans(tags):
    fixed = L.repair(tags, Scheme.IOB2)
    assert L.first_problem(fixed, Scheme.IOB2) is None
    assert L.to_spans(fixed, Scheme.IOB2) == L.to_spans(tags, Scheme.IOB2)


@settings(deadline=None)
@given(st.lists(st.one_of(span_sequences(), st.lists(st.integers(0, 8), min_size=1, max_size=6)), min_size=1,
                max_size=6), st.permutations(["O"] + [f"{p}-{t}" for t in ("PER", "LOC") for p in "BIES"]))
def test_label_tables_convert_many_sentences_as_convert_does_one(sentences, labels):
    """The ONNX runtime's batched conversion (encoding.LabelTables) against labels.convert: valid BIOES sentences
    (from spans) and arbitrary ones (mostly invalid, which convert repairs), in any label order."""
    from seqtag.models.encoding import LabelTables

    sequences = []
    for sentence in sentences:
        if isinstance(sentence, tuple):
            spans, length = sentence
            if length:
                sequences.append(L.from_spans(spans, length, Scheme.BIOES))
        else:
            sequences.append([labels[i] for i in sentence])
    if not sequences:
        return
    ids = np.array([labels.index(tag) for tags in sequences for tag in tags])
    lengths = np.array([len(tags) for tags in sequences])
    for target in (Scheme.IOB1, Scheme.IOB2, Scheme.BIOES):
        expected = [L.convert(tags, Scheme.BIOES, target) for tags in sequences]
        assert LabelTables(labels, Scheme.BIOES, target).convert(ids, lengths) == expected


def test_label_tables_keep_segmentation_and_plain_tags_and_repair_what_is_invalid():
    from seqtag.models.encoding import LabelTables

    tables = LabelTables(["S", "B", "E", "M"], Scheme.BMES, Scheme.BMES)
    ids = np.array([1, 2, 0, 1, 3, 2, 3, 0])  # B E S | B M E | M S: the last is invalid, repaired as convert does
    assert tables.convert(ids, np.array([3, 3, 2])) == [["B", "E", "S"], ["B", "M", "E"], ["S", "S"]]
    assert L.convert(["M", "S"], Scheme.BMES, Scheme.BMES) == ["S", "S"]
    assert LabelTables(["NN", "VB"], Scheme.PLAIN, Scheme.PLAIN).convert(np.array([1, 0, 0]), np.array([2, 1])) == [
        ["VB", "NN"], ["NN"]]
    with pytest.raises(ValueError):
        LabelTables(["O"], Scheme.BIOES, Scheme.BMES)


def test_a_layer_without_a_single_span_converts_to_every_span_scheme():
    """A gold file with no entity reads as plain tags; all O is a valid IOB1, IOB2 and BIOES sequence as it is."""
    for target in (L.Scheme.IOB1, L.Scheme.IOB2, L.Scheme.BIOES):
        assert L.convert(["O", "O", "O"], L.Scheme.PLAIN, target) == ["O", "O", "O"]
    with pytest.raises(ValueError):
        L.convert(["NN", "O"], L.Scheme.PLAIN, L.Scheme.IOB1)  # real plain tags still do not convert
