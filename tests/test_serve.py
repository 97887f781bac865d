"""`seqtag serve` against a real server process on loopback (port 0, the port read back) and a real HTTP client
(urllib): every endpoint, the error paths, concurrent requests answering what `seqtag tag` answers, the queue's
limit, and SIGTERM under load."""

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from seqtag import bundled

pytestmark = pytest.mark.slow
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
if "en-ner" not in bundled.names():
    pytest.skip("en-ner is not bundled here", allow_module_level=True)

TEXT = "Christine Lagarde spoke in Frankfurt on Thursday. Shares of Siemens rose 3 percent."


class Server:
    def __init__(self, *args, cwd=None):
        self.process = subprocess.Popen([sys.executable, "-m", "seqtag", "serve", "--port", "0", *map(str, args)],
                                        stderr=subprocess.PIPE, text=True, cwd=cwd)
        line = self.process.stderr.readline()
        assert " on http://127.0.0.1:" in line, line + self.process.stderr.read()
        self.url = line.split(" on ")[1].split()[0]

    def call(self, path, body=None, raw: bytes | None = None):
        """(status, headers, JSON or text) of one request."""
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, headers, text = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, error.headers, error.read().decode()
        try:
            return status, headers, json.loads(text)
        except ValueError:
            return status, headers, text

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture(scope="module")
def server(hmm_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    shutil.copytree(hmm_model, folder / "hmm")
    running = Server("-m", "en-ner", "-m", folder / "hmm", "--max-body", 20_000, "--max-tokens", 300)
    yield running
    running.stop()


def tag_cli(text: str, *options) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", "en-ner", "--output-format", "jsonl",
                           *options], input=text + "\n", capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_tag_answers_what_seqtag_tag_writes(server):
    status, _, answer = server.call("/tag", {"model": "en-ner", "text": TEXT})
    assert status == 200 and answer["model"] == "en-ner"
    expected = tag_cli(TEXT)
    for record in expected:
        record["text"] = record.pop("line")
    assert answer["results"] == expected
    assert {span["text"] for record in answer["results"] for span in record["spans"]} == \
        {"Christine Lagarde", "Frankfurt", "Siemens"}


@pytest.mark.parametrize("probs", [False, True])
def test_concurrent_requests_each_get_their_own_answer(server, probs):
    """Requests tagged in one runtime call answer as each does alone: en-ner's context layer pools the mentions of
    the sentences tagged together, and a request's pool is its own (the probabilities would show a shared one)."""
    texts = [f"Angela Merkel met {name} in Berlin." for name in ("Emmanuel Macron", "Boris Johnson", "Joe Biden",
                                                                 "Xi Jinping")] * 6
    ask = {"model": "en-ner", "probs": probs}
    alone = {text: server.call("/tag", {**ask, "text": text})[2] for text in set(texts)}
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda text: server.call("/tag", {**ask, "text": text}), texts))
    assert all(status == 200 for status, _, _ in together)
    assert [answer for _, _, answer in together] == [alone[text] for text in texts]
    _, _, metrics = server.call("/metrics")
    assert "seqtag_batch_sentences_bucket{le=\"1.0\"}" in metrics
    batched = float(metrics.split('seqtag_batch_sentences_count ')[1].split()[0])
    assert batched < float(metrics.split('seqtag_requests_total{endpoint="/tag",status="200"} ')[1].split()[0])


def test_texts_tokens_probs_and_nbest(server):
    status, _, answer = server.call("/tag", {"model": "en-ner", "texts": ["Paris is big.", "", "EU rejects it."]})
    assert status == 200 and [r["text"] for r in answer["results"]] == [1, 2, 3]
    status, _, answer = server.call("/tag", {"model": "en-ner", "tokens": [["Peter", "went", "to", "Paris"]],
                                             "probs": True, "nbest": 2})
    record = answer["results"][0]
    assert status == 200 and len(record["probs"]) == 4 and len(record["nbest"]) == 2
    assert record["spans"][0]["text"] == "Peter" and 0 < record["spans"][0]["prob"] <= 1
    status, _, answer = server.call("/tag", {"model": "en-ner", "text": "<b>Paris</b>", "format": "html"})
    assert status == 200 and "&lt;b&gt;" in answer["html"] and "<b>" not in answer["html"]


@pytest.mark.parametrize("options, cli", [
    ({"output_scheme": "bioes"}, ["--output-scheme", "bioes"]),
    ({"min_prob": 0.9, "probs": True}, ["--min-prob", "0.9", "--probs"]),
    ({"min_prob": 0.99, "output_scheme": "iob1"}, ["--min-prob", "0.99", "--output-scheme", "iob1"]),
])
def test_output_scheme_and_min_prob_answer_what_seqtag_tag_writes(server, options, cli):
    text = TEXT + " Mr. Smithers of Acme Corp. visited the Lake District."
    status, _, answer = server.call("/tag", {"model": "en-ner", "text": text, **options})
    expected = tag_cli(text, *cli)
    for record in expected:
        record["text"] = record.pop("line")
    assert status == 200 and answer["results"] == expected
    assert expected != [{**r, "text": r.pop("line")} for r in tag_cli(text)]  # the options changed something


def test_token_lists_are_documents_as_tag_reads_token_lines(server):
    """An empty list ends a document, as an empty line does for `seqtag tag --input-format tokens` (en-ner reads a
    document's sentences together: the probabilities show it)."""
    lists = [["Merkel", "met", "Macron", "."], ["Merkel", "left", "."], [], ["Macron", "stayed", "."]]
    status, _, answer = server.call("/tag", {"model": "en-ner", "tokens": lists, "probs": True})
    expected = [r for r in tag_cli("\n".join(" ".join(t) for t in lists), "--input-format", "tokens", "--probs")
                if r["tokens"]]
    assert status == 200 and [r["text"] for r in answer["results"]] == [1, 2, 4]
    assert [{k: r[k] for k in ("tokens", "labels", "probs")} for r in answer["results"]] == \
        [{k: r[k] for k in ("tokens", "labels", "probs")} for r in expected]


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "the body is not JSON"), (b"[" * 9_000 + b"]" * 9_000, 400, "nested too deeply"),
    (b"[1, 2]", 400, "must be a JSON object"),
    ({"model": "en-ner"}, 400, "give one of text"),
    ({"model": "en-ner", "text": "a", "tokens": [["a"]]}, 400, "give one of text"),
    ({"text": "a"}, 400, "several models are served"),
    ({"model": "/etc/passwd", "text": "a"}, 404, "no model named '/etc/passwd' is served"),
    ({"model": "en-ner", "text": 5}, 400, "text must be a string"),
    ({"model": "en-ner", "tokens": [["a", " "]]}, 400, "non-blank string"),
    ({"model": "en-ner", "text": "a", "probs": "yes"}, 400, "probs and split must be true or false"),
    ({"model": "en-ner", "text": "a", "nbest": -1}, 400, "nbest must be a whole number"),
    ({"model": "en-ner", "text": "a", "colour": "red"}, 400, "unknown field(s) colour"),
    ({"model": "en-ner", "text": "word " * 400}, 413, "400 tokens in one request; the limit is 300"),
    ({"model": "en-ner", "texts": ["x" * 30_000]}, 413, "the request body is over 20,000 bytes"),
    ({"model": "hmm", "text": "Paris", "probs": True}, 422, ""),
    ({"model": "en-ner", "text": "a", "output_scheme": "bilou"}, 400, "output_scheme must be one of iob1, iob2"),
    ({"model": "en-ner", "text": "a", "output_scheme": 5}, 400, "output_scheme must be one of"),
    ({"model": "en-ner", "text": "a", "min_prob": 1.5}, 400, "min_prob must be a probability from 0 to 1"),
    ({"model": "en-ner", "text": "a", "min_prob": True}, 400, "min_prob must be a probability"),
    ({"model": "hmm", "text": "Paris", "min_prob": 0.5}, 422, "needs a model that gives probabilities"),
])
def test_a_bad_request_is_a_4xx_with_its_reason(server, body, status, message):
    found, _, answer = server.call("/tag", raw=body if isinstance(body, bytes) else json.dumps(body).encode())
    assert found == status and message in answer["error"], answer


def test_the_other_endpoints(server):
    status, _, answer = server.call("/models")
    assert status == 200 and [m["name"] for m in answer["models"]] == ["en-ner", "hmm"]
    assert answer["models"][0]["labels"][0] == "B-LOC"
    assert server.call("/healthz")[:1] == (200,) and server.call("/readyz")[2] == {"status": "ready"}
    # a request counted below, whatever ran before
    assert server.call("/tag", {"model": "hmm", "text": "Peter went to Paris ."})[0] == 200
    status, headers, metrics = server.call("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'seqtag_requests_total{endpoint="/tag",status="200"}' in metrics and "seqtag_queue_depth" in metrics
    assert "/tag" in server.call("/openapi.json")[2]["paths"]
    status, _, page = server.call("/")
    assert status == 200 and "<textarea" in page and "<option>en-ner</option>" in page


def test_a_full_queue_answers_503_with_retry_after():
    """While the batcher tags a long request, one more waits in the queue (--max-queue 1) and the rest are turned
    away at once."""
    import time

    running = Server("-m", "en-ner", "--max-queue", 1, "--max-wait-ms", 0, "--max-tokens", 200_000)
    try:
        with ThreadPoolExecutor(12) as pool:
            long = pool.submit(running.call, "/tag", {"text": "Peter went to Paris . " * 20_000})
            time.sleep(0.5)  # the long request is being tagged (several seconds on two cores)
            answers = list(pool.map(lambda i: running.call("/tag", {"text": f"Peter went to Paris {i} ."}),
                                    range(10)))
            assert long.result()[0] == 200
    finally:
        running.stop()
    statuses = [status for status, _, _ in answers]
    assert statuses.count(503) >= 8 and set(statuses) <= {200, 503}, statuses
    assert all(headers["Retry-After"] == "1" for status, headers, _ in answers if status == 503)


def test_sigterm_under_load_answers_every_accepted_request(hmm_model):
    running = Server("-m", hmm_model, "--max-wait-ms", 50)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(running.call, "/tag", {"text": "Peter went to Paris . " * 20}) for _ in range(40)]
        futures[5].result()  # some have been answered: the rest are in flight or queued
        running.process.send_signal(signal.SIGTERM)
        answers = []
        for future in futures:
            try:
                answers.append(future.result()[0])
            except (urllib.error.URLError, ConnectionError):
                answers.append("refused")  # sent after the server stopped accepting: never accepted
    assert running.process.wait(30) == 128 + signal.SIGTERM  # after the graceful stop, as every seqtag command
    assert all(answer in (200, "refused") for answer in answers), answers
    assert answers.count(200) >= 6


def test_without_the_extra_serving_is_one_line_naming_it(monkeypatch):
    from seqtag import serve
    from seqtag.errors import DataError

    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    with pytest.raises(DataError, match=r"pip install 'seqtag-nlp\[serve\]'"):
        serve.app(["en-ner"])


def test_seqtag_serve_is_called_from_python_and_its_app_is_mountable(hmm_model):
    import seqtag

    assert callable(seqtag.serve) and callable(seqtag.serve.app)
    code = ("import seqtag; seqtag.serve([sys.argv[1]], port=0, on_ready=lambda url: print(url, flush=True))")
    process = subprocess.Popen([sys.executable, "-c", "import sys; " + code, str(hmm_model)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        with urllib.request.urlopen(url + "/tag", json.dumps({"text": "Peter went to Paris ."}).encode(),
                                    timeout=60) as answer:
            records = json.loads(answer.read())
        assert answer.status == 200 and records["results"][0]["tokens"][:2] == ["Peter", "went"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
