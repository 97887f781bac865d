"""Where outputs land: a symbolic link is followed (the link stays, its target is replaced whole), a stream such as
/dev/stdout is written into, and a model being saved by another process is never taken for a killed save's
leftover."""

import json
import os
import subprocess
import sys

import pytest

import seqtag

from conftest import DATA

GOLD = DATA / "ner" / "test.txt"


def evaluate(*options, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "seqtag", "evaluate", "--pred", str(GOLD), "--gold", str(GOLD),
                           "--columns", "word,pos,chunk,ner", *options], stdout=stdout, stderr=subprocess.PIPE,
                          timeout=60)


def test_a_report_through_a_link_replaces_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"written_by": "seqtag evaluate", "f1": 0.5}))
    (tmp_path / "link.json").symlink_to("old.json")
    assert evaluate("--json", tmp_path / "link.json").returncode == 0
    assert os.readlink(tmp_path / "link.json") == "old.json"
    assert json.loads((tmp_path / "old.json").read_text())["f1"] == 1.0  # gold scored against itself
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "old.json"]  # no temporary file left


def test_a_link_to_a_file_seqtag_did_not_write_is_refused_like_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "link.json").symlink_to("notes.txt")
    done = evaluate("--json", tmp_path / "link.json")
    assert done.returncode == 2 and b"was not written by seqtag evaluate" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and (tmp_path / "link.json").is_symlink()


def test_reports_go_to_dev_stdout_whether_it_is_a_pipe_or_a_file(tmp_path):
    piped = evaluate("--json", "/dev/stdout")
    assert piped.returncode == 0, piped.stderr
    document = json.loads(piped.stdout[piped.stdout.index(b"\n{") + 1:])
    assert document["written_by"] == "seqtag evaluate" and document["f1"] == 1.0
    with open(tmp_path / "out.txt", "wb") as out:  # the shell sent stdout to a file seqtag did not write
        assert evaluate("--json", "/dev/stdout", stdout=out).returncode == 0
    assert b'"written_by": "seqtag evaluate"' in (tmp_path / "out.txt").read_bytes()
    assert evaluate("--json", "/dev/null").returncode == 0
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_model_saved_through_a_link_replaces_the_target_folder(tmp_path):
    seqtag.train(model="majority", output=tmp_path / "v1")
    (tmp_path / "current").symlink_to("v1")
    first = (tmp_path / "v1" / "model.json").read_text()
    seqtag.train(model="majority", output=tmp_path / "current", train=DATA / "ner" / "dev.txt")
    assert os.readlink(tmp_path / "current") == "v1"
    assert (tmp_path / "v1" / "model.json").read_text() != first  # trained on another file: another record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]
    assert seqtag.load(tmp_path / "current").tag("EU rejects German call").labels


def test_a_save_under_way_in_another_process_is_left_alone_and_a_dead_ones_leftover_removed(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".m.seqtag-tmp-{parent.pid}-abc"
        live.mkdir()
        (live / ".seqtag-staging").write_text(str(parent.pid))
        (live / "model.json").write_text("{}")
        dead = tmp_path / ".m.seqtag-tmp-999999999-abc"
        dead.mkdir()
        (dead / ".seqtag-staging").write_text("999999999")
        seqtag.train(model="majority", output=tmp_path / "m")
        assert live.is_dir() and not dead.exists()
        assert seqtag.load(tmp_path / "m").kind == "majority"
        assert not (tmp_path / "m" / ".seqtag-staging").exists()  # the marker is the staging folder's only
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.parametrize("name", [".m.tmp-anything", ".m.tmp-999999999-abc", ".m.seqtag-tmp-999999999-abc",
                                  ".m.seqtag-old-abc"])
def test_a_users_folder_named_like_a_leftover_is_never_removed(tmp_path, name):
    """Only a folder whose marker proves seqtag made it, in a process now gone, is removed: a user's folder of
    any name beside the model (here without the marker, or with a marker naming another process) stays."""
    users = tmp_path / name
    (users / "model").mkdir(parents=True)
    (users / "model" / "model.json").write_text("{}")
    if "seqtag-tmp" in name:
        (users / ".seqtag-staging").write_text("12")  # not the process its name says
    for _ in range(2):
        seqtag.train(model="majority", output=tmp_path / "m")
    assert (users / "model" / "model.json").read_text() == "{}"


def test_outputs_of_one_command_that_collide_are_refused_before_any_work(tmp_path, capsys):
    from seqtag.cli import commands as cli

    train, test = DATA / "ner" / "train.txt", DATA / "ner" / "test.txt"
    compare = ["compare", "--train", str(train), "--test", str(test), "--models", "majority"]
    cases = [
        (compare + ["-o", str(tmp_path / "m"), "--json", str(tmp_path / "m" / "majority" / "model.json")],
         "--json lies inside -o"),
        (compare + ["--json", str(tmp_path / "r"), "--markdown", str(tmp_path / "r")], "--json and --markdown name"),
        (compare + ["--html", str(tmp_path / "r"), "--markdown", str(tmp_path / "x" / ".." / "r")],
         "--markdown and --html name"),
        (["preprocess", str(train), "-o", str(tmp_path / "out"), "--json", str(tmp_path / "out" / "s.json")],
         "--json lies inside -o"),
        (["preprocess", str(train), "-o", str(tmp_path / "same"), "--json", str(tmp_path / "same")],
         "--json and -o name the same path"),
    ]
    for args, message in cases:
        assert cli.run(args) == 2, args
        assert message in capsys.readouterr().err, args
        assert sorted(p.name for p in tmp_path.iterdir()) == [], args  # nothing written


def test_concurrent_trainings_into_one_folder_end_with_one_complete_model(tmp_path):
    """Neither run removes the other's staging folder: both succeed, and the folder holds one whole model."""
    runs = [subprocess.Popen([sys.executable, "-m", "seqtag", "train", "--model", "hmm", "--train", str(data),
                              "--columns", "word,pos,chunk,ner", "--layer", "ner", "-o", str(tmp_path / "m")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for data in (DATA / "ner" / "train.txt", DATA / "ner" / "dev.txt")]
    outcomes = [run.communicate(timeout=120) + (run.returncode,) for run in runs]
    assert [code for *_, code in outcomes] == [0, 0], outcomes
    trained_on = json.loads((tmp_path / "m" / "model.json").read_text())["training"]["data"]["train"]["path"]
    assert trained_on in (str((DATA / "ner" / "train.txt").resolve()), str((DATA / "ner" / "dev.txt").resolve()))
    assert seqtag.load(tmp_path / "m").tag("EU rejects German call").labels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize("name", ["x" * 240, "bad\ud800name"])
def test_a_name_too_long_for_its_staging_form_or_not_encodable_is_refused_before_training(tmp_path, name):
    from seqtag.errors import DataError

    with pytest.raises(DataError, match="too long|cannot be a file name"):
        seqtag.train(model="majority", output=tmp_path / name)
    assert list(tmp_path.iterdir()) == []
