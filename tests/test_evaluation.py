import pytest

from seqtag.data.evaluation import score
from seqtag.data.labels import Scheme


def test_entity_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    report = score(gold, pred, Scheme.IOB2)
    assert report["precision"] == 2 / 3 and report["recall"] == 2 / 3
    assert report["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["accuracy"] == 5 / 6


def test_conlleval_reading_versus_strict_mode():
    gold = [["O", "B-PER", "I-PER"]]
    pred = [["O", "I-PER", "I-PER"]]  # ill-formed start: conlleval counts the chunk, strict mode does not
    assert score(gold, pred, Scheme.IOB2)["f1"] == 1.0
    assert score(gold, pred, Scheme.IOB2, strict=True)["f1"] == 0.0


def test_tag_accuracy_with_oov():
    report = score([["DT", "NN"]], [["DT", "VB"]], Scheme.PLAIN, [["the", "zyx"]], known=lambda t: t == "the")
    assert report["metric"] == "accuracy" and report["accuracy"] == 0.5
    assert report["oov_tokens"] == 1 and report["oov_accuracy"] == 0.0


def test_segmentation_words_as_sighan_counts():
    # gold: 共同 创造 美好 ; predicted: 共同 创 造 美好
    gold = [["B", "E", "B", "E", "B", "E"]]
    pred = [["B", "E", "S", "S", "B", "E"]]
    chars = [list("共同创造美好")]
    report = score(gold, pred, Scheme.BMES, chars, known=lambda w: w != "创造")
    assert report["precision"] == 2 / 4 and report["recall"] == 2 / 3
    assert report["oov_words"] == 1 and report["oov_recall"] == 0.0


def test_conlleval_compatible_on_a_real_conll2003_slice():
    """IOB1 gold and (often ill-formed) predictions from the bundled CoNLL-2003 slice: our conversion to IOB2
    then seqeval must equal seqeval's own conlleval emulation on the raw IOB1 tags."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    from seqtag.data import formats
    from seqtag.models.baselines import MajorityTagger

    from conftest import DATA

    columns = ["word", "pos", "chunk", "ner"]
    train, layer, _ = formats.load_corpus(DATA / "ner/train.txt", columns=columns)
    test, _, _ = formats.load_corpus(DATA / "ner/test.txt", columns=columns)
    predicted = MajorityTagger.fit(train, None, layer).predict(test.sentences)
    gold = [list(tags) for tags in test.column(layer)]
    assert any(p[i].startswith("I-") and (i == 0 or p[i - 1] == "O") for p in predicted for i in range(len(p)))
    report = score(gold, predicted, Scheme.IOB1)
    assert report["f1"] == f1_score(gold, predicted)
    assert report["precision"] == precision_score(gold, predicted)
    assert report["recall"] == recall_score(gold, predicted)


def test_a_gold_file_without_any_entity_scores_zero_quietly_and_writes_valid_json(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "gold.txt").write_text("a O\nb O\n\nc O\n\n")
    done = subprocess.run([sys.executable, "-m", "seqtag", "evaluate", "--pred", str(tmp_path / "gold.txt"), "--gold",
                           str(tmp_path / "gold.txt"), "--scheme", "iob2", "--json", str(tmp_path / "s.json")],
                          capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""  # no library warning
    scores = json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(c))  # no NaN
    assert scores["f1"] == 0.0 and scores["macro_f1"] == 0.0 and scores["per_type"] == {}
