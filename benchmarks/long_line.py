"""Peak memory of `seqtag tag` on one very long line against the same text as one sentence a line.

    python benchmarks/long_line.py --model models/ner --words eng.testb --mb 10 --runtimes onnx,torch

The words of --words (a CoNLL file: its first column) are drawn at random (seed 1) until the text has --mb
megabytes; it is written once as a single line and once as lines of 25 tokens. Each file is tagged by a fresh
`seqtag tag` process per runtime, and that process's peak resident memory (ru_maxrss from wait4) is printed with the
ratio of the two. Run it with nothing else heavy on the machine for the times; the memory does not depend on that.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss(args: list[str], stdin: Path) -> tuple[float, float]:
    """(peak resident MB, seconds) of one process."""
    started = time.perf_counter()
    with open(stdin, "rb") as source:
        process = subprocess.Popen(args, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}\n{process.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--words", required=True, help="a CoNLL file whose first column gives the words")
    parser.add_argument("--mb", type=float, default=10)
    parser.add_argument("--runtimes", default="onnx,torch")
    parser.add_argument("--input-format", default="raw")
    options = parser.parse_args()
    words = [line.split()[0] for line in open(options.words, encoding="utf-8")
             if line.strip() and not line.startswith("-DOCSTART-")]
    random.seed(1)
    text, size = [], 0
    while size < options.mb * 1_000_000:
        word = random.choice(words)
        text.append(word)
        size += len(word) + 1
    with tempfile.TemporaryDirectory() as folder:
        one, many = Path(folder) / "one.txt", Path(folder) / "many.txt"
        one.write_text(" ".join(text) + "\n", encoding="utf-8")
        many.write_text("".join(" ".join(text[i:i + 25]) + "\n" for i in range(0, len(text), 25)), encoding="utf-8")
        print(f"{len(text):,} tokens, {size / 1e6:.1f} MB, input format {options.input_format}")
        for runtime in options.runtimes.split(","):
            args = [sys.executable, "-m", "seqtag", "tag", "-m", options.model, "--runtime", runtime,
                    "--input-format", options.input_format]
            (lines_mb, lines_s), (line_mb, line_s) = peak_rss(args, many), peak_rss(args, one)
            print(f"{runtime}: one sentence a line {lines_mb:,.0f} MB ({lines_s:.0f} s), one line {line_mb:,.0f} MB "
                  f"({line_s:.0f} s): {line_mb / lines_mb:.2f}x")


if __name__ == "__main__":
    main()
