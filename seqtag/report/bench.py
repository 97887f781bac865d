"""`seqtag bench`: training and tagging throughput, start-up time and peak memory, for every model kind.

Figures are meant to be read as ratios between models measured in the same run (this machine may be shared and
noisy); absolute times mean something only on a dedicated machine. Tagging end-to-end runs the real command,
`seqtag tag`, in a child process fed through stdin, and reads the child's peak memory from the kernel.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seqtag.version import __version__
from seqtag.data.corpus import Corpus
from seqtag.modeldir import CHECKPOINT_FILE


def hardware() -> dict:
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "seqtag": __version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


# Runs `seqtag` in a child that reports its own peak RSS (VmHWM) at exit. The kernel's rusage for a child would
# count the forked copy of this (torch-sized) process, so the child reads its own high-water mark instead.
_CHILD = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    sys.stderr.write('peak_rss_kb=' + status.split('VmHWM:')[1].split()[0] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = ['seqtag'] + sys.argv[1:]\n"
    "runpy.run_module('seqtag', run_name='__main__')\n"
)


def _run_child(args: list[str], stdin_path: Path | None) -> tuple[float, int, int]:
    """Run `seqtag ARGS`; return (seconds, exit code, peak RSS in KB, 0 where /proc is missing) of the child."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _CHILD, *args], stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
    finally:
        if stdin_path:
            stdin.close()
    marker = result.stderr.rsplit(b"peak_rss_kb=", 1)
    peak = int(marker[1].split()[0]) if len(marker) == 2 else 0
    return seconds, result.returncode, peak


def bench_model(model_dir: Path, corpus: Corpus, tokens_file: Path) -> dict:
    """Start-up, end-to-end and model-only tagging speed of one saved model."""
    from seqtag.models.loading import load_model

    stages = stage_seconds(model_dir, tokens_file)  # first: it prepares the default runtime (a BiLSTM's export)
    command = ["tag", "-m", str(model_dir), "--input-format", "tokens"]
    startup, code, _ = _run_child(command, None)
    end_to_end, code, peak_rss = _run_child(command, tokens_file)
    if code != 0:
        raise RuntimeError(f"seqtag tag failed on {model_dir} with exit code {code}")
    started = time.perf_counter()
    tagger = load_model(model_dir)
    load_seconds = time.perf_counter() - started
    tagger.predict(corpus.sentences[:50])  # warm-up
    started = time.perf_counter()
    tagger.predict(corpus.sentences)
    model_seconds = time.perf_counter() - started
    tokens = corpus.num_tokens()
    return {
        "model": str(model_dir),
        "kind": tagger.kind,
        "tokens": tokens,
        "startup_s": round(startup, 3),
        "load_s": round(load_seconds, 3),
        "tag_end_to_end_tokens_per_s": round(tokens / end_to_end),
        "tag_model_tokens_per_s": round(tokens / model_seconds),
        "peak_rss_mb": round(peak_rss / 1024, 1),
        "model_mb": round(sum(f.stat().st_size for f in model_dir.iterdir() if f.name != CHECKPOINT_FILE) / 1e6, 2),
        "runtime": stages.pop("runtime"),
        "stages_s": stages,
    }


def stage_seconds(model_dir: Path, tokens_file: Path) -> dict:
    """Where `seqtag tag` spends its time, stage by stage, on the default runtime, in this process: loading the
    model, reading and tokenizing the input, the model (split into encoding, network and decoding where the
    predictor counts them: the ONNX runtime does), and writing CoNLL output."""
    from seqtag import api
    from seqtag.data.labels import Scheme
    from seqtag.runtime.tagging import render, tag_units, units_from_lines

    started = time.perf_counter()
    model = api.load(model_dir)
    loaded = time.perf_counter()
    lines = tokens_file.read_text("utf-8").splitlines()
    units = list(units_from_lines(lines, "tokens", model.scheme is Scheme.BMES, offsets=False))  # as for CoNLL
    read = time.perf_counter()
    results = tag_units(model.predictor, units)
    tagged = time.perf_counter()
    for _ in render(results, model.layer, "conll"):  # the text is made and dropped, as `> /dev/null` would
        pass
    done = time.perf_counter()
    stages = {"runtime": type(model.predictor).__name__, "load": loaded - started, "read_tokenize": read - loaded,
              "model": tagged - read, **getattr(model.predictor, "seconds", {}), "format": done - tagged}
    return {name: round(value, 3) if isinstance(value, float) else value for name, value in stages.items()}


def bench_training(train: Corpus, layer: str, kind: str, model_config: dict, device: str, epochs: int = 2) -> dict:
    """Training throughput of a kind that trains in epochs: the last of `epochs` epochs (the first warms up)."""
    import json

    from seqtag.kinds import KINDS
    from seqtag.models.tagger import TrainRun
    from seqtag.modeldir import TRAIN_LOG_FILE

    trainer = KINDS[kind]
    config = trainer.configure({"model": model_config, "training": {"max_epochs": epochs, "device": device}})
    trained = trainer.trainer_function()(train, None, layer, config, run=TrainRun())
    last = json.loads(trained.files[TRAIN_LOG_FILE].splitlines()[-1])
    return {"device": device, "epoch_s": last["seconds"], "train_tokens_per_s": last["tokens_per_s"],
            "train_sentences_per_s": last["sentences_per_s"]}


def default_data(data: Path | None, read):
    """(corpus file, read options) to measure on: the one given, else the bundled NER sample read as its columns."""
    from dataclasses import replace

    from seqtag.data.reading import SAMPLE

    if data is not None:
        return data, read
    return SAMPLE["train"], replace(read, columns=read.columns or SAMPLE["columns"], layer=read.layer or SAMPLE["layer"])


def run_all(models: list[Path], data: Path, read, train_bench: bool = True,
            on_progress: Callable[[str], None] = lambda message: None, devices: list[str] | None = None) -> dict:
    """`seqtag bench`: the given models, or one of every kind (seqtag.kinds) trained briefly on `data`."""
    from seqtag.training.devices import resolve_device
    from seqtag.kinds import KINDS
    from seqtag.training.fit import train_model
    from seqtag.models.loading import load_model

    devices = [resolve_device(d) for d in devices] if devices else None  # refused before any measuring starts
    for model in models:  # so is a damaged model
        load_model(model)
    corpus, target, _ = read.read(data)
    with tempfile.TemporaryDirectory(prefix="seqtag-bench-models-") as scratch:
        if not models:
            for kind in KINDS.values():
                on_progress(f"training a {kind.name} model on {data}")
                train_model(kind.name, data, None, None, read, {"training": dict(kind.bench)}, Path(scratch) / kind.name)
                models = [*models, Path(scratch) / kind.name]
        return run(models, corpus, target, corpus if train_bench else None, on_progress, devices)


def bench_stream_memory(data: Path, read, on_progress: Callable[[str], None] = lambda message: None) -> dict:
    """Peak memory of one BiLSTM training epoch with the training file held in memory against streamed from disk
    (`seqtag train --stream`). The model is kept small (one layer of 32 units) so that the data dominates."""
    on_progress(f"training one epoch on {data}, in memory and then streamed")
    with tempfile.TemporaryDirectory(prefix="seqtag-bench-stream-") as scratch:
        return _stream_memory(data, read, Path(scratch))


def _stream_memory(data: Path, read, scratch: Path) -> dict:
    command = ["train", "--train", str(data), "--max-epochs", "1", "--hidden", "32", "--layers", "1",
               "--device", "cpu", "--on-invalid", read.on_invalid]
    for flag, value in (("--format", read.format), ("--columns", ",".join(read.columns or [])),
                        ("--layer", read.layer), ("--scheme", read.scheme)):
        if value:
            command += [flag, value]
    result: dict = {"data": str(data), "bytes": data.stat().st_size}
    for mode in ("memory", "stream"):
        seconds, code, peak = _run_child(command + ["-o", str(scratch / mode)] + (["--stream"] if mode == "stream"
                                                                                   else []), None)
        if code != 0:
            raise RuntimeError(f"seqtag train{' --stream' if mode == 'stream' else ''} failed with exit code {code}")
        result[mode] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak / 1024, 1)}
    if result["memory"]["peak_rss_mb"]:
        result["stream_vs_memory_peak_rss"] = round(result["stream"]["peak_rss_mb"] / result["memory"]["peak_rss_mb"], 3)
    return result


def run(models: list[Path], corpus: Corpus, layer: str, train_corpus: Corpus | None,
        on_progress: Callable[[str], None] = lambda message: None, devices: list[str] | None = None) -> dict:
    """Benchmark saved models (and, given a training corpus, BiLSTM training on each device: the CPU, and CUDA
    where there is one, unless `devices` names them, resolved by run_all)."""
    import torch

    from seqtag.modeldir import read_model_json

    devices = devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

    with tempfile.TemporaryDirectory(prefix="seqtag-bench-") as scratch:
        tokens_file = Path(scratch) / "tokens.txt"
        tokens_file.write_text("".join(" ".join(s.tokens) + "\n" for s in corpus.sentences), "utf-8")
        rows = []
        for model in models:
            on_progress(f"tagging with {model}")
            rows.append(bench_model(model, corpus, tokens_file))
    baseline = next((r for r in rows if r["kind"] == "hmm"), rows[0] if rows else None)
    for row in rows:
        row["tag_speed_vs_" + baseline["kind"]] = round(
            row["tag_end_to_end_tokens_per_s"] / baseline["tag_end_to_end_tokens_per_s"], 3)
    training = []
    if train_corpus is not None:
        from seqtag import kinds

        # the settings of a given model that trains in epochs, else the default kind's defaults
        trained = next((d for d in map(read_model_json, models) if kinds.can(d["kind"], "epochs")), None)
        kind = trained["kind"] if trained else kinds.DEFAULT_KIND
        model_config = trained["config"]["model"] if trained else {}
        for device in devices:
            on_progress(f"training a {kind} model on {device}")
            training.append(bench_training(train_corpus, layer, kind, model_config, device))
    return {"hardware": hardware(), "data": {"sentences": len(corpus), "tokens": corpus.num_tokens()},
            "tagging": rows, "training": training}
