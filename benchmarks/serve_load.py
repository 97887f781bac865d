"""Load on `seqtag serve`, loopback only, bounded in requests and time: 1, 8, 32 and 128 concurrent clients sending
one-sentence and 20-sentence requests; latency percentiles, throughput, errors and the server's peak RSS, beside
`seqtag tag`'s throughput on the same sentences through stdin (in the same run).

    python benchmarks/serve_load.py [-m en-ner] [--requests 400] [--seconds 30] [--clients 1,8,32,128]

Run it with nothing else running: it times processes on this machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [[line for line in block.split("\n") if line.strip()]
             for block in (ROOT / "data" / "ner" / "test.txt").read_text().split("\n\n")
             if block.strip() and not block.startswith("-DOCSTART-")]
TEXTS = [" ".join(line.split()[0] for line in block) for block in SENTENCES]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def level(port: int, model: str, clients: int, per_request: int, requests: int, seconds: float) -> dict:
    local = threading.local()
    latencies, errors, sentences = [], [0], [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def one(i: int) -> None:
        if time.perf_counter() > stop:
            return
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        texts = [TEXTS[(i * per_request + j) % len(TEXTS)] for j in range(per_request)]
        body = json.dumps({"model": model, "texts": texts, "split": False}).encode()  # one send with the headers
        started = time.perf_counter()
        try:
            local.connection.request("POST", "/tag", body, {"Content-Type": "application/json"})
            response = local.connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock:
            if ok:
                latencies.append(time.perf_counter() - started)
                sentences[0] += per_request
            else:
                errors[0] += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]

    def pct(p):
        return round(1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {"clients": clients, "sentences_per_request": per_request, "requests": len(latencies) + errors[0],
            "errors": errors[0], "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "sentences_per_s": round(sentences[0] / wall, 1), "median_ms": round(1000 * statistics.median(ordered), 1)}


def tag_throughput(model: str, times: int = 40) -> float:
    text = "\n".join(TEXTS * times) + "\n"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", model, "--no-split"], input=text, text=True,
                   capture_output=True, check=True)
    return round(times * len(TEXTS) / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", default="en-ner")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", default="1,8,32,128")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "seqtag", "serve", "-m", args.model, "--port", "0"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        port = int(line.rsplit(":", 1)[1].split()[0])
        print(json.dumps({"seqtag tag, sentences per s (stdin, one process, start-up included)":
                          tag_throughput(args.model)}), flush=True)
        for per_request in (1, 20):
            for clients in (int(c) for c in args.clients.split(",")):
                result = level(port, args.model, clients, per_request, args.requests, args.seconds)
                result["server_peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
                print(json.dumps(result), flush=True)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
