"""`seqtag serve --engine ray`: the same API on Ray Serve, with two replicas on a local Ray, a replica killed under
load, and two replicas on the two-node cluster simulated here (one CPU a node: a replica on each). The expected
answers come from `seqtag tag` and from the local engine's tests (test_serve.py). Skipped without Ray Serve."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("ray.serve")

from test_ray import process_titles  # noqa: E402  (after the skip)
from test_serve import TEXT, Server, tag_cli  # noqa: E402

pytestmark = pytest.mark.slow
REPLICA = "ServeReplica:seqtag:seqtag"  # a replica's process title, as Ray sets it


def replicas() -> list[int]:
    """The process ids of this machine's seqtag replicas (their titles in /proc)."""
    return [int(pid) for pid, title in process_titles() if REPLICA in title]


class RayServer(Server):
    """`seqtag serve --engine ray` as a process; Ray's own lines on stderr before the ready one are skipped. On a
    loaded machine Ray Serve's proxy may die while starting (the command then says so, exit 2): started again once.
    A request that gets no answer at all (the connection dropped or timed out while the host is busy) is sent again,
    twice at most: these tests check what is answered, the kill test counts such failures."""

    def __init__(self, *args):
        try:
            self.start(*args)
        except AssertionError as error:
            if "Ray Serve did not start" not in str(error):
                raise
            self.start(*args)

    def start(self, *args):
        self.process = subprocess.Popen([sys.executable, "-m", "seqtag", "serve", "--engine", "ray", "--port", "0",
                                         *map(str, args)], stderr=subprocess.PIPE, text=True)
        seen = []
        for line in self.process.stderr:
            seen.append(line)
            if " on http://127.0.0.1:" in line:
                self.url = line.split(" on ")[1].split()[0]
                threading.Thread(target=self.process.stderr.read, daemon=True).start()  # never a full pipe
                return
        raise AssertionError("".join(seen))

    def call(self, path, body=None, raw: bytes | None = None):
        for attempt in range(3):
            try:
                return super().call(path, body, raw)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt == 2:
                    raise
                time.sleep(2)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(120)


def expected(text: str) -> list[dict]:
    records = tag_cli(text)
    for record in records:
        record["text"] = record.pop("line")
    return records


@pytest.fixture(scope="module")
def two_replicas():
    running = RayServer("-m", "en-ner", "--replicas", 2)
    yield running
    running.stop()


def test_two_replicas_answer_as_the_local_server_does(two_replicas):
    assert len(replicas()) == 2  # each holds the model once
    status, _, answer = two_replicas.call("/tag", {"text": TEXT})
    assert status == 200 and answer["results"] == expected(TEXT)
    texts = [f"Angela Merkel met {name} in Berlin." for name in ("Emmanuel Macron", "Joe Biden")] * 8
    alone = {text: two_replicas.call("/tag", {"text": text, "probs": True})[2] for text in set(texts)}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda text: two_replicas.call("/tag", {"text": text, "probs": True}), texts))
    assert [answer for _, _, answer in together] == [alone[text] for text in texts]
    assert two_replicas.call("/models")[2]["models"][0]["name"] == "en-ner"
    assert two_replicas.call("/readyz")[2] == {"status": "ready"}
    assert two_replicas.call("/tag", {"text": 5})[:1] == (400,)
    assert two_replicas.call("/tag", {"model": "/etc/passwd", "text": "a"})[0] == 404
    assert "<textarea" in two_replicas.call("/")[2]


def test_a_replica_killed_under_load_is_replaced_and_the_rest_answer(two_replicas):
    """SIGKILL to one replica while four clients send requests: the requests it held may fail (5xx or a dropped
    connection), every answer given is right, Ray Serve starts a new replica, and requests succeed after."""
    want = expected(TEXT)
    outcomes, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            try:
                status, _, answer = Server.call(two_replicas, "/tag", {"text": TEXT})  # no retry: counted
                outcomes.append((time.monotonic(), status, status != 200 or answer["results"] == want))
            except (urllib.error.URLError, ConnectionError) as error:
                outcomes.append((time.monotonic(), type(error).__name__, True))

    before = replicas()
    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    killed_at = time.monotonic()
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (len(replicas()) < 2 or set(replicas()) == set(before) - {before[0]}):
        time.sleep(1)
    replaced = set(replicas()) - set(before)
    time.sleep(3)  # load goes on with the new replica
    stop.set()
    for thread in threads:
        thread.join(120)
    failed = [o for o in outcomes if o[1] != 200]
    print(f"\n{len(outcomes)} requests, {len(failed)} failed ({sorted({str(o[1]) for o in failed})}), "
          f"replica replaced in {time.monotonic() - killed_at:.0f} s at most")
    assert replaced, "no new replica started"
    assert all(right for _, _, right in outcomes)  # no wrong answer, ever
    assert all(status == 200 for at, status, _ in outcomes if at < killed_at)
    assert all(str(status).startswith(("5", "Remote", "Connection")) for _, status, _ in failed), failed
    assert len(failed) <= 8  # the killed replica's own requests, not the service
    last = sorted(outcomes)[-20:]
    assert all(status == 200 for _, status, _ in last)


def test_sigterm_stops_serve_and_its_replicas(two_replicas):
    assert two_replicas.stop() == 128 + signal.SIGTERM  # as every seqtag command
    deadline = time.monotonic() + 30
    while replicas() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not replicas()


def test_two_nodes_each_run_a_replica(hmm_model):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        # a replica takes one CPU and a node has one: two replicas up means one on each node
        running = RayServer("-m", "en-ner", "--replicas", 2, "--address", cluster.address)
        try:
            assert len(replicas()) == 2
            want = expected(TEXT)
            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda _: running.call("/tag", {"text": TEXT}), range(12)))
            assert all(status == 200 and answer["results"] == want for status, _, answer in answers)
            # a second server on the same cluster would replace this one's application: refused, this one goes on
            second = subprocess.run([sys.executable, "-m", "seqtag", "serve", "--engine", "ray", "--port", "0", "-m",
                                     str(hmm_model), "--address", cluster.address], capture_output=True, text=True,
                                    timeout=300)
            assert second.returncode == 2 and "an application named 'seqtag' already runs" in second.stderr
            assert running.call("/tag", {"text": TEXT})[2]["results"] == want
        finally:
            assert running.stop() == 128 + signal.SIGTERM
    finally:
        cluster.shutdown()
