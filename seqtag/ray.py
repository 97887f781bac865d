"""Tagging and serving on a Ray cluster (the `[ray]` extra): `seqtag tag --engine ray`, `seqtag.ray.tag_dataset` and
`seqtag serve --engine ray`.

Ray Data runs the work: `map_batches` with a pool of actors, each opening the model once (with the ONNX runtime
where the model allows: no torch in the actors). `--engine ray` tags each input file in one call, with the same code
as the local engine (seqtag.runtime.files), so its outputs are the local engine's byte for byte; the driver keeps
the manifest, so a run started again skips what is finished. Ray Data restarts an actor that dies and retries its call
(its default for actor pools; an output is written whole or not at all, so a retry writes it again). Inputs and the output folder must be on a
filesystem every node sees: one machine, or a shared disk.

`serve` deploys seqtag.serve's app on Ray Serve: the same API, one copy of the models in each replica, Ray Serve's
proxy on the head node spreading requests among the replicas, and a replica that dies replaced (docs/serving.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqtag import durable
from seqtag.arguments import check_count
from seqtag.errors import DataError
from seqtag.runtime import files

EXTRA = "pip install 'seqtag-nlp[ray]'"
# a span's fields, each row alike (character offsets are None for token lists), so Arrow sees one type
SPAN_KEYS = ("label", "start", "end", "text", "char_start", "char_end")


def _ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise DataError(f"--engine ray needs Ray Data, the project's [ray] extra: {EXTRA}") from None
    return ray


def connect(address: str | None = None):
    """Ray, connected to the cluster at `address` ("auto": the one `ray start` began here; "ray://HOST:PORT"), or
    to a local Ray started for this process when none is given."""
    ray = _ray()
    if address is not None and not isinstance(address, str):
        raise DataError(f"address must be a str (auto, HOST:PORT or ray://HOST:PORT) or None, not {address!r:.60}")
    if not ray.is_initialized():
        silent = _silent(address)
        if silent:  # Ray would retry for a long time before saying so
            raise DataError(f"cannot reach a Ray cluster at {address}: {silent}")
        try:  # "local" when none is given: Ray would otherwise join the last cluster started on the host
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as error:  # no cluster there, or a malformed address
            where = f"at {address}" if address else "started here"
            raise DataError(f"cannot reach a Ray cluster {where}: {str(error).splitlines()[0]}") from None
    for name in ("ray", "ray.data"):  # seqtag reports files and tokens itself
        logging.getLogger(name).setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # seqtag reports files and tokens itself
    context.print_on_execution_start = False
    return ray


def _silent(address: str | None, seconds: float = 10) -> str | None:
    """Why nothing answers at a HOST:PORT or ray://HOST:PORT address (no TCP connection within `seconds`), or None:
    where something answers, or the address is not of that form (auto, local, none)."""
    import socket

    host, _, port = (address or "").removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            return None
    except OSError as error:  # refused, unreachable, a name that does not resolve, or the time out
        return f"nothing answers there ({error.strerror or error})"


class _FileTagger:
    """A Ray Data actor: opens the model once, then tags whole files, one per call."""

    def __init__(self, model: str, runtime: str, settings: dict):
        from seqtag import api

        self.model, self.settings = api.load(model, runtime), settings

    def __call__(self, batch: dict) -> dict:
        rows: dict[str, list] = {"name": [], "sentences": [], "tokens": [], "error": []}
        for source, target in zip(batch["source"], batch["target"]):
            (sentences, tokens), error = files.tag_or_error(self.model, Path(source), Path(target), self.settings)
            for key, value in (("name", Path(target).name), ("sentences", sentences), ("tokens", tokens),
                               ("error", error)):
                rows[key].append(value)
        return rows


def tag_files(model, inputs, output_dir, input_format: str = "raw", output_format: str = "conll", *,
              window: int = 2000, columns: list[str] | None = None, output_scheme: str | None = None,
              replace_invalid: bool = False, overwrite: bool = False, actors: int = 1, address: str | None = None,
              on_progress: Callable[[dict], None] | None = None, split: bool = True) -> dict:
    """seqtag.api.Model.tag_files on Ray: the same outputs and manifest, by a pool of `actors` (at `address`, or
    on a local Ray). `model`: a seqtag.api.Model or a model folder."""
    from seqtag import api

    _ray()  # the extra, before any input is read
    model = api.load(model) if isinstance(model, (str, Path)) else model
    check_count("actors", actors)
    run, settings = model.plan_files(inputs, output_dir, input_format, output_format, window=window, columns=columns,
                                     output_scheme=output_scheme, replace_invalid=replace_invalid, overwrite=overwrite,
                                     split=split)
    report = on_progress or (lambda event: None)
    ray = connect(address)
    outcome = files.Outcome(skipped=sorted(run.done))
    todo = run.todo
    if not todo:
        return outcome.summary()
    manifest = files.Manifest(run)
    manifest.start_all(todo)
    jobs = {job.target.name: job for job in todo}
    items = [{"source": str(job.source), "target": str(job.target)} for job in todo]
    runtime = model.choice.asked if model.choice is not None else "auto"
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        _FileTagger, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1,
        fn_constructor_args=(str(model.path), runtime, settings))
    for number, row in enumerate(dataset.iter_rows(), 1):
        outcome.record(jobs[row["name"]], manifest, (int(row["sentences"]), int(row["tokens"])), row["error"],
                       number, len(todo), report)
    # an actor killed while writing leaves its temporary file; Ray wrote that output again with another actor
    durable.remove_dead_leftovers(run.folder, set(jobs))
    return outcome.summary()


class _TextTagger:
    """A Ray Data actor for tag_dataset: one model, batches of texts (or token lists) in, tokens, labels and spans
    out."""

    def __init__(self, model: str, runtime: str, column: str, tokenized: bool | None):
        from seqtag import api

        self.model, self.column, self.tokenized = api.load(model, runtime), column, tokenized

    def __call__(self, batch: dict) -> dict:
        items = [item if isinstance(item, str) else [str(t) for t in item] for item in batch[self.column]]
        texts = bool(items) and isinstance(items[0], str)  # a batch of texts, never one text's tokens
        tagged = self.model.tag(items, tokenized=bool(self.tokenized) if texts else None) if items else []
        if len(items) == 1 and not isinstance(tagged, list):
            tagged = [tagged]
        return {**batch, "tokens": [t.tokens for t in tagged], "labels": [t.labels for t in tagged],
                "spans": [[{key: span.get(key) for key in SPAN_KEYS} for span in t.spans] for t in tagged]}


def tag_dataset(dataset: Any, model: Any, column: str = "text", *, runtime: str = "auto", actors: int = 1,
                batch_size: int = 256, tokenized: bool | None = None) -> Any:
    """A Ray Dataset with `tokens`, `labels` and `spans` beside the columns of `dataset`, whose `column` holds texts
    (tokenized here) or token lists; `model`: a model folder (opened with `runtime`) or a seqtag.api.Model. Lazy,
    as Ray Datasets are: nothing runs until it is read or written."""
    from seqtag import api

    ray = _ray()
    if not isinstance(model, (str, Path)):  # a loaded model: its folder, opened again in each actor
        if getattr(model, "path", None) is None:
            raise DataError("tag_dataset opens the model in each Ray actor: give a saved model or its folder")
        model, runtime = model.path, model.choice.asked if model.choice is not None else runtime
    api.load(model, runtime)  # a model that cannot be opened is refused here, not in every actor
    if not isinstance(column, str) or column not in dataset.columns():
        raise DataError(f"column must name a column of the dataset ({', '.join(dataset.columns())}), not {column!r}")
    check_count("actors", actors)
    check_count("batch_size", batch_size)
    return dataset.map_batches(_TextTagger, batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=actors),
                               num_cpus=1, fn_constructor_args=(str(model), runtime, column, tokenized))


# Ray Serve's application and deployment name for `seqtag serve --engine ray`
SERVED = "seqtag"


def serve(models, replicas: int = 1, host: str = "127.0.0.1", port: int = 8080, limits=None,
          address: str | None = None, on_ready: Callable[[str], None] | None = None) -> None:
    """`seqtag serve --engine ray`: seqtag.serve.app(models, limits) as a Ray Serve deployment of `replicas`
    copies (one CPU each), on the cluster at `address` or a local Ray. Ray Serve's proxy listens on host:port on the
    head node; past `limits.max_queue` requests waiting for a replica it answers 503. Runs until SIGTERM or Ctrl-C,
    then removes its application (each replica finishes the requests it holds), and on a local Ray stops Serve and
    Ray. `on_ready(url)` is told the address once every replica is up."""
    import signal
    import threading
    import time

    from seqtag import serve as serving

    check_count("replicas", replicas)
    limits = serving.Limits() if limits is None else limits
    if not isinstance(limits, serving.Limits):
        raise DataError(f"limits must be a seqtag.serve.Limits, not {type(limits).__name__}")
    try:
        from ray import exceptions as ray_exceptions
        from ray import serve as ray_serve
    except ImportError:
        raise DataError(f"--engine ray serving needs Ray Serve, the project's [ray] extra: {EXTRA}") from None
    serving.load_models(models)  # refused here, in one line, before Ray starts (and a graph exported once)
    # folders made absolute, for replicas that start elsewhere: a folder is named by its last part either way
    given = [str(Path(m).resolve()) if Path(m).exists() else str(m)
             for m in ([models] if isinstance(models, (str, os.PathLike)) else models)]
    with serving.bind(host, port) as probe:  # the proxy's port: free, and a number for port 0
        port = probe.getsockname()[1]
    on_terminate = signal.getsignal(signal.SIGTERM)
    # Ray's driver would answer SIGTERM with a stack dump and an abort soon after (abseil's failure handler), or a
    # plain exit: seqtag's handler stays, so SIGTERM drains the replicas and exits 143 as Ctrl-C exits 130
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    connect(address)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_terminate)
    logging.getLogger("ray.serve").setLevel(logging.ERROR)
    started = False
    try:
        ray_serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port})
        if SERVED in ray_serve.status().applications:  # another seqtag serve on this cluster: never replaced
            raise DataError(f"an application named {SERVED!r} already runs on Ray Serve at {address}; stop it first "
                            "(serve.delete) or serve on another cluster")
        started = True

        def build():  # on each replica: the app, its models loaded there once (imported there: no module pickled)
            from seqtag.serve import app

            return app(given, limits)

        deployment = ray_serve.deployment(ray_serve.ingress(build)(), name=SERVED, num_replicas=replicas,
                                          ray_actor_options={"num_cpus": 1},
                                          max_ongoing_requests=limits.max_queue, max_queued_requests=limits.max_queue)
        ray_serve.run(deployment.bind(), name=SERVED, route_prefix="/")
        if on_ready is not None:
            on_ready(serving.url(host, port))
        while True:
            time.sleep(3600)
    except ray_exceptions.RayError as error:  # its proxy or a replica died while starting (a loaded machine)
        raise DataError(f"Ray Serve did not start: {str(error).splitlines()[0][:300]}") from None
    finally:  # Ctrl-C or SIGTERM (a KeyboardInterrupt here): the replicas drain, then Serve and Ray stop
        if address is None:  # the local Ray started for this server: all of it goes
            ray_serve.shutdown()
        elif started:  # a cluster others may use: only this application goes
            ray_serve.delete(SERVED)
        _ray().shutdown()
