"""Start-up of `seqtag tag -m NAME` on one line of input: the median wall time of N runs (each a new process), and
whether torch was imported (python -X importtime lists every module a run imports).

    python benchmarks/startup.py [NAME ...] [--runs 7]

Run it with nothing else running: it times processes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

LINES = {"en-ner": "Christine Lagarde spoke in Frankfurt.", "en-pos": "The cat sat on the mat.", "zh-seg": "我们在北京工作。"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(LINES))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for name in args.names:
        command = [sys.executable, "-m", "seqtag", "tag", "-m", name]
        line = LINES.get(name, "A line of text.") + "\n"
        subprocess.run(command, input=line, capture_output=True, text=True, check=True)  # warm the file cache
        seconds = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, input=line, capture_output=True, text=True, check=True)
            seconds.append(time.perf_counter() - started)
        imports = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], input=line, capture_output=True,
                                 text=True, check=True).stderr
        torch = any(row.rsplit("|", 1)[-1].strip() == "torch" for row in imports.splitlines())
        print(f"{name}: median {statistics.median(seconds):.3f} s over {args.runs} runs "
              f"(min {min(seconds):.3f}, max {max(seconds):.3f}); torch imported: {torch}", flush=True)


if __name__ == "__main__":
    main()
