"""`seqtag serve`: models behind HTTP (Starlette on uvicorn, the `[serve]` extra), with micro-batching.

    app = seqtag.serve.app(["en-ner"])          # an ASGI app, to mount in a server of your own
    seqtag.serve(["en-ner"], port=8080)          # or serve it here (loopback unless told otherwise; = serve.run)

Endpoints: POST /tag (raw texts, split into sentences as `seqtag tag` splits a line, or token lists; the records of
`tag --output-format jsonl`, or the `html` view; probs, nbest, output_scheme and min_prob as `tag` has them),
GET /models, GET /healthz and /readyz, GET /metrics (Prometheus text format), GET /openapi.json, and GET / (a page
to paste text into and see the entities highlighted).

Requests that arrive together are tagged in one runtime call: each model has one bounded queue and one batcher that
takes what is waiting, up to `max_batch_tokens`, waiting at most `max_wait_ms` for more. Past the limits a request
gets 413 (body or tokens) or 503 with Retry-After (queue full), never an unbounded wait; bad input is a 4xx with a
JSON error in the command line's words. Models are fixed at start: a request chooses one by name, never by path.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import types
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from seqtag import api, catalog
from seqtag.data import labels as L
from seqtag.arguments import check_path
from seqtag.errors import DataError, SeqtagError
from seqtag.runtime import tagging

EXTRA = "seqtag serve needs the [serve] extra: pip install 'seqtag-nlp[serve]'"


@dataclass(frozen=True)
class Limits:
    max_batch_tokens: int = 4096  # tokens tagged in one runtime call
    max_wait_ms: float = 5.0  # how long a batch waits for more requests once one is there
    max_queue: int = 256  # requests waiting per model; past it, 503
    max_body: int = 1_000_000  # bytes of one request body; past it, 413
    max_tokens: int = 20_000  # tokens of one request; past it, 413

    def __post_init__(self):  # as the command line checks its flags: a queue of 0 would be unbounded
        for name, low in (("max_batch_tokens", 1), ("max_queue", 1), ("max_body", 1), ("max_tokens", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise DataError(f"{name} must be a whole number from {low} up, not {value!r}")
        if isinstance(self.max_wait_ms, bool) or not isinstance(self.max_wait_ms, (int, float)) or \
                not 0 <= self.max_wait_ms < float("inf"):
            raise DataError(f"max_wait_ms must be a number of milliseconds from 0 up, not {self.max_wait_ms!r}")


class Refused(Exception):
    """A request the server answers with an error status and a JSON message."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Asked:
    """What a /tag request asks for beyond its text: the options of `seqtag tag`."""

    probs: bool = False  # each label's probability, and each span's
    nbest: int = 0
    html: bool = False  # the `tag --output-format html` view instead of records
    scheme: L.Scheme | None = None  # labels written in this entity scheme (`--output-scheme`)
    min_prob: float | None = None  # spans with a token less probable than this written as O (`--min-prob`)


@dataclass
class Job:
    units: list
    probs: bool  # probabilities computed: asked for, or needed by min_prob
    nbest: int
    done: asyncio.Future
    tokens: int


@dataclass
class Served:
    """One model by name, with its queue; the PyTorch runtime opened on first need (probabilities, n-best)."""

    name: str
    model: Any
    queue: asyncio.Queue | None = None
    full: Any = None  # the model as PyTorch runs it, for probs and nbest
    task: asyncio.Task | None = None
    info: dict = field(default_factory=dict)

    def predictor(self, probs: bool, nbest: int):
        if not (probs or nbest):
            return self.model.predictor
        if self.full is None:
            self.full = api.load(self.model.path, runtime="torch") if self.model.path else self.model
        return self.full.predictor


def load_models(models) -> dict[str, Served]:
    """{name: Served} from model names or folders (a folder is named by its last part)."""
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    if not isinstance(models, (list, tuple)) or not models:
        raise DataError(f"give at least one model to serve (-m NAME or -m FOLDER; in Python a list of names or "
                        f"folders), not {models!r:.60}")
    served = {}
    for given in models:
        check_path("a model", given)
        path = catalog.resolve(given)
        name = str(given) if path != Path(given) else Path(given).name
        if name in served:
            raise DataError(f"two models are named {name!r}; serve them from folders with different names")
        model = api.load(given)
        served[name] = Served(name, model, info={"name": name, "kind": model.kind, "layer": model.layer,
                                                 "scheme": model.scheme.value, "labels": model.labels})
    return served


def app(models, limits: Limits = Limits()):
    """The ASGI app serving `models` (names or folders, loaded now)."""
    try:
        import prometheus_client as prom
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
        from starlette.routing import Route
    except ImportError:
        raise DataError(EXTRA) from None
    from contextlib import asynccontextmanager

    served = load_models(models)
    registry = prom.CollectorRegistry()
    requests = prom.Counter("seqtag_requests", "Requests by endpoint and status.", ["endpoint", "status"],
                            registry=registry)
    latency = prom.Histogram("seqtag_request_seconds", "Time to answer a /tag request.", registry=registry,
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    batch_sizes = prom.Histogram("seqtag_batch_sentences", "Sentences tagged per runtime call.", registry=registry,
                                 buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
    depth = prom.Gauge("seqtag_queue_depth", "Requests waiting per model.", ["model"], registry=registry)

    @asynccontextmanager
    async def lifespan(_app):
        for one in served.values():
            one.queue = asyncio.Queue(limits.max_queue)
            one.task = asyncio.create_task(_batcher(one, limits, batch_sizes))
        yield
        for one in served.values():
            one.task.cancel()

    def answer(endpoint: str, payload, status: int = 200, headers: dict | None = None):
        requests.labels(endpoint, str(status)).inc()
        if isinstance(payload, Response):
            return payload
        return JSONResponse(payload, status, headers=headers)

    async def tag(request: Request):
        started = time.perf_counter()
        try:
            body = await _body(request, limits.max_body)
            one, units, asked = _parse(body, served, limits.max_tokens)
            if one.queue.full():
                raise Refused(503, f"the queue of {one.name} is full ({limits.max_queue} requests); try again",
                              {"Retry-After": "1"})
            job = Job(units, asked.probs or asked.min_prob is not None, asked.nbest,
                      asyncio.get_running_loop().create_future(), sum(len(unit[0]) for unit in units))
            one.queue.put_nowait(job)
            depth.labels(one.name).set(one.queue.qsize())
            results = await job.done
        except Refused as refused:
            return answer("/tag", {"error": refused.message}, refused.status, refused.headers)
        latency.observe(time.perf_counter() - started)
        if asked.min_prob is not None:
            results = tagging.above(results, asked.min_prob, asked.probs)
        if asked.scheme is not None:
            results = tagging.in_scheme(results, asked.scheme)
        if asked.html:
            from seqtag.runtime import display

            return answer("/tag", {"model": one.name, "html": display.fragment(results)})
        return answer("/tag", {"model": one.name, "results": [_record(result) for result in results]})

    async def list_models(_request):
        return answer("/models", {"models": [one.info for one in served.values()]})

    async def healthz(_request):
        return answer("/healthz", {"status": "alive"})

    async def readyz(_request):
        ready = all(one.task is not None and not one.task.done() for one in served.values())
        return answer("/readyz", {"status": "ready" if ready else "starting"}, 200 if ready else 503)

    async def metrics(_request):
        for one in served.values():
            depth.labels(one.name).set(one.queue.qsize() if one.queue else 0)
        return answer("/metrics", PlainTextResponse(prom.generate_latest(registry),
                                                    media_type=prom.CONTENT_TYPE_LATEST))

    async def openapi(_request):
        return answer("/openapi.json", OPENAPI)

    async def index(_request):
        return answer("/", HTMLResponse(_page(list(served))))

    routes = [Route("/tag", tag, methods=["POST"]), Route("/models", list_models), Route("/healthz", healthz),
              Route("/readyz", readyz), Route("/metrics", metrics), Route("/openapi.json", openapi),
              Route("/", index)]
    return Starlette(routes=routes, lifespan=lifespan)


async def _body(request, limit: int) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, f"the request body is over {limit:,} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise Refused(413, f"the request body is over {limit:,} bytes")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise Refused(400, f"the body is not JSON: {error}") from None
    except RecursionError:
        raise Refused(400, "the body is not JSON seqtag reads: nested too deeply") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object such as {\"text\": \"...\"}")
    return body


def _parse(body: dict, served: dict[str, Served], max_tokens: int) -> tuple[Served, list, Asked]:
    """(the model, the units to tag, what else is asked) of a /tag body, or Refused."""
    fields = TAG_FIELDS["properties"]
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise Refused(400, f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(sorted(fields))}")
    name = body.get("model", next(iter(served)) if len(served) == 1 else None)
    if name is None:
        raise Refused(400, f"several models are served: name one (\"model\": one of {', '.join(served)})")
    if not isinstance(name, str) or name not in served:
        raise Refused(404, f"no model named {name!r} is served; the models: {', '.join(served)}")
    one = served[name]
    probs, nbest, split = body.get("probs", False), body.get("nbest", 0), body.get("split", True)
    if not isinstance(probs, bool) or not isinstance(split, bool):
        raise Refused(400, "probs and split must be true or false")
    if isinstance(nbest, bool) or not isinstance(nbest, int) or not 0 <= nbest <= 1000:
        raise Refused(400, f"nbest must be a whole number from 0 to 1000, not {nbest!r}")
    if body.get("format", "json") not in ("json", "html"):
        raise Refused(400, "format must be json or html")
    scheme, min_prob, model = body.get("output_scheme"), body.get("min_prob"), one.model
    try:
        tagging.scheme_named(scheme, "output_scheme")
        tagging.check_probability(min_prob)
    except DataError as error:
        raise Refused(400, error.message) from None
    try:  # well formed, but this model may not have what they ask for
        scheme = tagging.output_scheme(scheme, model.scheme)
        tagging.check_min_prob(min_prob, model.scheme, model.kind)
    except DataError as error:
        raise Refused(422, error.message) from None
    given = [key for key in ("text", "texts", "tokens") if key in body]
    if len(given) != 1:
        raise Refused(400, "give one of text (a string), texts (a list of strings) or tokens (a list of token lists)")
    value = body[given[0]]
    if given[0] == "tokens":
        if not isinstance(value, list) or not all(isinstance(t, list) and all(isinstance(w, str) and w and
                                                                              not w.isspace() for w in t)
                                                  for t in value):
            raise Refused(400, "tokens must be a list of token lists, each token a non-blank string")
        # as `seqtag tag --input-format tokens` reads lines: an empty list ends a paragraph (a document)
        ended = list(accumulate(int(not tokens) for tokens in value))  # empty lists up to each, itself included
        units = [(list(tokens), None, None, ended[i], {}, (i + 1, 0)) for i, tokens in enumerate(value) if tokens]
    else:
        texts = [value] if given[0] == "text" else value
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise Refused(400, f"{given[0]} must be {'a string' if given[0] == 'text' else 'a list of strings'}")
        segmentation = one.model.scheme is L.Scheme.BMES
        try:  # as `seqtag tag` reads lines; a line break is a space here (offsets hold for the text as sent)
            units = list(tagging.units_from_texts([t.replace("\r", " ").replace("\n", " ") for t in texts],
                                                  segmentation, paragraphs=True, sentences=split,
                                                  longest=None))  # a request's size is bounded: --max-tokens
        except SeqtagError as error:
            raise Refused(400, str(error)) from None
        if not split or segmentation:  # one unit per text: numbered as the split ones are
            units = [(*unit[:5], (i + 1, 0)) for i, unit in enumerate(units)]
    tokens = sum(len(unit[0]) for unit in units)
    if tokens > max_tokens:
        raise Refused(413, f"{tokens:,} tokens in one request; the limit is {max_tokens:,}")
    return one, units, Asked(probs, nbest, body.get("format") == "html", scheme, min_prob)


async def _batcher(one: Served, limits: Limits, batch_sizes) -> None:
    """Take the jobs waiting for `one`, as many as fit in a batch, and tag each group of like options in one call."""
    while True:
        jobs = [await one.queue.get()]
        tokens, deadline = jobs[0].tokens, time.perf_counter() + limits.max_wait_ms / 1000
        while tokens < limits.max_batch_tokens:
            try:
                job = one.queue.get_nowait() if time.perf_counter() >= deadline else await asyncio.wait_for(
                    one.queue.get(), deadline - time.perf_counter())
            except (asyncio.QueueEmpty, asyncio.TimeoutError):
                break
            jobs.append(job)
            tokens += job.tokens
        groups: dict[tuple, list[Job]] = {}
        for job in jobs:
            groups.setdefault((job.probs, job.nbest), []).append(job)
        for (probs, nbest), group in groups.items():
            units = [unit for job in group for unit in job.units]
            scopes = [number for number, job in enumerate(group) for _ in job.units]  # each request as if alone
            try:  # in a worker thread, opening PyTorch too when it is first asked for: the loop keeps accepting
                results = await asyncio.to_thread(
                    lambda: tagging.tag_units(one.predictor(probs, nbest), units, probs, nbest, scopes))
            except DataError as error:  # an option this model cannot honour (nbest of a softmax network...)
                for job in group:
                    if not job.done.done():
                        job.done.set_exception(Refused(422, error.message))
                continue
            except Exception as error:  # a runtime failure: each waiting request hears of it
                for job in group:
                    if not job.done.done():
                        job.done.set_exception(Refused(500, f"tagging failed: {type(error).__name__}: {error}"))
                continue
            batch_sizes.observe(len(units))
            at = 0
            for job in group:
                if not job.done.done():
                    job.done.set_result(results[at:at + len(job.units)])
                at += len(job.units)


def _record(result) -> dict:
    record = result.record()
    if "line" in record:  # the request's text number (from 1), as `tag` gives the input line
        record["text"] = record.pop("line")
    return record


def bind(host: str, port: int):
    """A TCP socket bound to host:port (port 0: a free one), or the reason it cannot be, in one line."""
    import socket

    if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise DataError(f"host must be a str and port a whole number from 0 to 65535, not {host!r:.60} and "
                        f"{port!r:.60}")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # answers go out at once: without it, a response's second segment waits for a kept-alive client's delayed ACK
    # (docs/serving.md); accepted connections inherit it
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except (OSError, UnicodeError) as error:  # in use, not an address of this host, a name that does not resolve
        sock.close()
        raise DataError(f"cannot listen on {host}:{port}: {getattr(error, 'strerror', None) or error}") from None
    return sock


def url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def run(models, host: str = "127.0.0.1", port: int = 8080, limits: Limits = Limits(), on_ready=None) -> None:
    """Serve `models` until SIGTERM or Ctrl-C (in-flight requests finish first). Port 0 takes a free port;
    `on_ready(url)` is told the address once the socket is bound."""
    try:
        import uvicorn
    except ImportError:
        raise DataError(EXTRA) from None
    asgi = app(models, limits)
    sock = bind(host, port)
    sock.listen(2048)
    if on_ready is not None:
        on_ready(url(host, sock.getsockname()[1]))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", timeout_graceful_shutdown=30))
    server.run(sockets=[sock])


# the fields POST /tag takes: what the request is checked against and what /openapi.json describes
TAG_FIELDS = {
    "type": "object", "additionalProperties": False,
    "properties": {"model": {"type": "string"}, "text": {"type": "string"},
                   "texts": {"type": "array", "items": {"type": "string"}},
                   "tokens": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                   "probs": {"type": "boolean"}, "nbest": {"type": "integer", "minimum": 0, "maximum": 1000},
                   "split": {"type": "boolean"}, "format": {"enum": ["json", "html"]},
                   "output_scheme": {"enum": ["iob1", "iob2", "bioes"]},
                   "min_prob": {"type": "number", "minimum": 0, "maximum": 1}}}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "seqtag serve", "version": "1"},
    "paths": {
        "/tag": {"post": {
            "summary": "Tag raw texts (split into sentences) or token lists",
            "requestBody": {"required": True, "content": {"application/json": {"schema": TAG_FIELDS}}},
            "responses": {"200": {"description": "one record per sentence, as `seqtag tag --output-format jsonl`"},
                          "400": {"description": "bad input"}, "404": {"description": "no such model"},
                          "413": {"description": "body or tokens over the limit"},
                          "422": {"description": "an option the model cannot honour"},
                          "503": {"description": "queue full; see Retry-After"}}}},
        "/models": {"get": {"summary": "The models served, with their labels"}},
        "/healthz": {"get": {"summary": "Liveness"}},
        "/readyz": {"get": {"summary": "Readiness: every model's batcher runs"}},
        "/metrics": {"get": {"summary": "Prometheus metrics"}},
    },
}


def _page(names: list[str]) -> str:
    from html import escape

    options = "".join(f"<option>{escape(name)}</option>" for name in names)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>seqtag serve</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em">
<h1>seqtag</h1>
<form id="form"><select id="model">{options}</select><br>
<textarea id="text" rows="6" style="width: 100%">Christine Lagarde spoke in Frankfurt on Thursday.</textarea><br>
<button type="submit">Tag</button></form>
<div id="out"></div>
<script>
document.getElementById("form").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const body = {{model: document.getElementById("model").value, text: document.getElementById("text").value,
                format: "html"}};
  const response = await fetch("/tag", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                        body: JSON.stringify(body)}});
  const answer = await response.json();
  const out = document.getElementById("out");
  if (response.ok) {{ out.innerHTML = answer.html; }} else {{ out.textContent = answer.error; }}
}});
</script></body></html>
"""


class _CallableModule(types.ModuleType):
    """`seqtag.serve(models, host, port)` serves, as `seqtag.serve.run` does; `seqtag.serve.app` stays the app."""

    def __call__(self, models, host: str = "127.0.0.1", port: int = 8080, limits: Limits = Limits(),
                 on_ready=None) -> None:
        run(models, host, port, limits, on_ready)


sys.modules[__name__].__class__ = _CallableModule
