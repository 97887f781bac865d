"""`seqtag tag --engine ray` and seqtag.ray: the same outputs and manifest as the local engine, on a local Ray, on a
two-node cluster simulated here, with an actor killed mid-run and with the driver killed mid-run. Skipped where the
[ray] extra is not installed; the expected outputs come from the local engine and from `Model.tag`."""

import json
import os
import signal
import subprocess
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import seqtag  # noqa: E402
from seqtag import ray as on_ray  # noqa: E402

from conftest import write_inputs  # noqa: E402

pytestmark = pytest.mark.slow
MANIFEST = ".seqtag-manifest.json"
WORKER = "MapWorker(MapBatches(_FileTagger))"


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the tests that run in this process (the tests after them shut it down: they start their
    own)."""
    on_ray.connect()
    yield
    ray.shutdown()


def process_titles() -> list[tuple[str, str]]:
    """(pid, command line) of this machine's processes, from /proc (Ray sets its workers' titles there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry.name, (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                continue
    return found


def outputs_of(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.iterdir() if p.name != MANIFEST}


def manifest_files(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())["files"]


def test_ray_writes_what_the_local_engine_writes(hmm_model, local_ray, tmp_path):
    write_inputs(tmp_path / "in", 6)
    model = seqtag.load(hmm_model)
    local = model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "local")
    done = on_ray.tag_files(model, tmp_path / "in" / "*.txt", tmp_path / "ray", actors=2)
    assert sorted(done["tagged"]) == sorted(local["tagged"]) and done["tokens"] == local["tokens"]
    assert outputs_of(tmp_path / "ray") == outputs_of(tmp_path / "local")
    assert manifest_files(tmp_path / "ray") == manifest_files(tmp_path / "local")
    # the engines share the manifest: the local engine finds the Ray run finished
    assert model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "ray")["tagged"] == []


def test_a_damaged_input_on_ray_costs_only_its_own_output(hmm_model, local_ray, tmp_path):
    paths = write_inputs(tmp_path / "in", 3)
    paths[1].write_bytes(b"good line\n\xfe\n")
    done = on_ray.tag_files(hmm_model, tmp_path / "in" / "*.txt", tmp_path / "out")
    assert list(done["failed"]) == ["part-001.txt"] and f"{paths[1]}:2: invalid UTF-8" in done["failed"]["part-001.txt"]
    assert sorted(outputs_of(tmp_path / "out")) == ["part-000.txt", "part-002.txt"]


def test_tag_dataset_gives_tokens_labels_and_spans_as_model_tag_does(hmm_model, local_ray):
    texts = ["Peter Blackburn went to Paris .", "EU rejects German call to boycott British lamb .", "", "Japan"]
    model = seqtag.load(hmm_model)
    rows = on_ray.tag_dataset(ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)]), hmm_model,
                              batch_size=2).take_all()
    rows.sort(key=lambda row: row["id"])
    expected = model.tag(texts, tokenized=False)  # texts, "Japan" among them
    assert [row["text"] for row in rows] == texts
    assert [list(row["labels"]) for row in rows] == [t.labels for t in expected]
    assert [list(row["tokens"]) for row in rows] == [t.tokens for t in expected]
    assert [[dict(s) for s in row["spans"]] for row in rows] == [
        [{key: span.get(key) for key in on_ray.SPAN_KEYS} for span in t.spans] for t in expected]
    with pytest.raises(seqtag.errors.DataError, match="column must name a column"):
        on_ray.tag_dataset(ray.data.from_items([{"x": "a"}]), hmm_model)


def test_an_actor_killed_mid_run_is_restarted_and_every_output_is_complete(hmm_model, local_ray, tmp_path):
    write_inputs(tmp_path / "in", 8, lines=1500, seed=1)
    model = seqtag.load(hmm_model)
    expected = model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "local")
    killed = []

    def kill_a_busy_actor():  # once the first output is finished, the actors are at work: SIGKILL one of them
        for _ in range(2400):
            workers = [pid for pid, title in process_titles() if WORKER in title and "__init__" not in title]
            if workers and (tmp_path / "ray" / MANIFEST).exists() and manifest_files(tmp_path / "ray"):
                os.kill(int(workers[0]), signal.SIGKILL)
                killed.append(workers[0])
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_actor)
    killer.start()
    done = on_ray.tag_files(model, tmp_path / "in" / "*.txt", tmp_path / "ray", actors=2)
    killer.join()
    assert killed, "no actor was seen at work"
    assert sorted(done["tagged"]) == sorted(expected["tagged"]) and not done["failed"]
    assert outputs_of(tmp_path / "ray") == outputs_of(tmp_path / "local")


def test_the_driver_killed_mid_run_then_run_again_finishes_only_what_was_left(hmm_model, tmp_path):
    ray.shutdown()  # the command starts a Ray of its own
    paths = write_inputs(tmp_path / "in", 10, lines=600, seed=2)
    model = seqtag.load(hmm_model)
    model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "local")
    expected = outputs_of(tmp_path / "local")
    command = [sys.executable, "-m", "seqtag", "tag", "-m", str(hmm_model), "--input", str(tmp_path / "in" / "*.txt"),
               "--output-dir", str(tmp_path / "out"), "--engine", "ray", "--actors", "2"]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    for _ in range(2400):  # until an output is finished, then the driver dies
        if (tmp_path / "out" / MANIFEST).exists() and manifest_files(tmp_path / "out"):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = set(manifest_files(tmp_path / "out")) if (tmp_path / "out" / MANIFEST).exists() else set()
    assert finished and len(finished) < len(paths)
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"tagged {len(paths) - len(finished)} file(s)" in rerun.stderr
    assert outputs_of(tmp_path / "out") == expected


def test_a_two_node_cluster_writes_the_same_outputs(hmm_model, tmp_path):
    from ray.cluster_utils import Cluster

    write_inputs(tmp_path / "in", 6, seed=4)
    model = seqtag.load(hmm_model)
    model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "local")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        on_ray.connect(cluster.address)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        done = on_ray.tag_files(model, tmp_path / "in" / "*.txt", tmp_path / "ray", actors=2)
        assert not done["failed"]
        assert outputs_of(tmp_path / "ray") == outputs_of(tmp_path / "local")
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_an_address_with_no_cluster_is_one_line_and_writes_nothing(hmm_model, tmp_path):
    from typer.testing import CliRunner

    from seqtag.cli import commands as cli

    ray.shutdown()
    write_inputs(tmp_path / "in", 1)
    with socket.socket() as probe:  # a port nothing listens on ("auto" would find any Ray the other tests run)
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    result = CliRunner().invoke(cli.app, ["tag", "-m", str(hmm_model), "--input", str(tmp_path / "in" / "*.txt"),
                                          "--output-dir", str(tmp_path / "out"), "--engine", "ray", "--address",
                                          address], env={"RAY_ADDRESS": ""})
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == \
        f"error: cannot reach a Ray cluster at {address}: nothing answers there (Connection refused)"
    assert time.monotonic() - started < 60  # refused by seqtag's own check, not after Ray's retries
    assert not (tmp_path / "out").exists()
