"""`seqtag tag --input ... --output-dir ...` on the local engine and on Ray, on one machine: tokens/s with 1 and 2
workers (local) and 1 and 2 actors (a local Ray, started by each run: its start is part of its cost), and the
driver's peak memory with 1 and with 20 input files. Each run is a fresh `seqtag tag` process into a fresh folder,
one at a time; the outputs of every run are checked to be identical.

    python benchmarks/ray_engine.py --model MODEL --corpus ../shared/corpora/conll2003/eng.testb
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sentences_of(corpus: Path) -> list[str]:
    """The corpus's sentences as lines of whitespace-separated tokens (the first column of a CoNLL file)."""
    sentences, current = [], []
    for line in corpus.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if current:
                sentences.append(" ".join(current))
            current = []
        else:
            current.append(line.split()[0])
    if current:
        sentences.append(" ".join(current))
    return sentences


def write_files(folder: Path, sentences: list[str], copies: int, count: int) -> int:
    lines = sentences * copies
    size = -(-len(lines) // count)
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"part-{i:02d}.txt").write_text("\n".join(lines[i * size : (i + 1) * size]) + "\n")
    return sum(len(line.split()) for line in lines)


def run(args: list[str]) -> tuple[float, int]:
    """(seconds, the process's peak resident memory in kB, read from /proc while it runs)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]))
        except (OSError, StopIteration, ValueError):
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {process.stderr.read()}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--files", type=int, default=20)
    options = parser.parse_args()
    seqtag = [sys.executable, "-m", "seqtag", "tag", "-m", options.model, "--input-format", "tokens"]
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        tokens = write_files(work / "in", sentences_of(options.corpus), options.copies, options.files)
        subprocess.run([*seqtag, "--input", str(work / "in" / "part-00.txt"), "--output-dir", str(work / "warm")],
                       check=True, capture_output=True)  # exports the ONNX graph once, before any clock
        rows, reference = [], None
        cases = [("local, 1 worker", ["--workers", "1"]), ("local, 2 workers", ["--workers", "2"]),
                 ("ray, 1 actor, a Ray started by the run", ["--engine", "ray", "--actors", "1"]),
                 ("ray, 2 actors, a Ray started by the run", ["--engine", "ray", "--actors", "2"]),
                 ("ray, 1 actor, a running Ray (`ray start --head`)", ["--engine", "ray", "--actors", "1",
                                                                        "--address", "auto"]),
                 ("ray, 2 actors, a running Ray (`ray start --head`)", ["--engine", "ray", "--actors", "2",
                                                                         "--address", "auto"])]
        for number, (name, extra) in enumerate(cases):
            if "--address" in extra and not any("--address" in e for _, e in cases[:number]):
                subprocess.run(["ray", "start", "--head", "--num-cpus", "2", "--include-dashboard", "false"],
                               check=True, capture_output=True)
            out = work / f"out{number}"
            seconds, peak = run([*seqtag, "--input", str(work / "in" / "*.txt"), "--output-dir", str(out), *extra])
            texts = {p.name: p.read_bytes() for p in out.glob("*.txt")}
            reference = reference or texts
            assert texts == reference, f"{name}: outputs differ from the first run's"
            rows.append((name, seconds, tokens / seconds, peak))
        subprocess.run(["ray", "stop"], capture_output=True)
        one = work / "one"
        one.mkdir()
        shutil.copy(work / "in" / "part-00.txt", one)
        _, peak_one = run([*seqtag, "--input", str(one / "*.txt"), "--output-dir", str(work / "one-out"),
                           "--engine", "ray", "--actors", "2"])
        local = rows[0][2]
        print(f"{options.files} files, {tokens:,} tokens ({options.corpus.name} x{options.copies}); "
              f"outputs identical across runs\n")
        print("| engine | seconds | tokens/s | against local, 1 worker | driver peak RSS |")
        print("|---|---|---|---|---|")
        for name, seconds, rate, peak in rows:
            print(f"| {name} | {seconds:.1f} | {rate:,.0f} | {rate / local:.2f}x | {peak / 1024:.0f} MB |")
        print(f"\nray driver peak RSS, 2 actors: {peak_one / 1024:.0f} MB with 1 input file, "
              f"{rows[3][3] / 1024:.0f} MB with {options.files} (a Ray started by the run)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
