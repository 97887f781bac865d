"""Load on `seqtag serve`, loopback only, bounded in requests and time: 1, 8, 32 and 128 concurrent clients sending
one-sentence and 20-sentence requests; latency percentiles, throughput, errors and the server's peak RSS, beside
`seqtag tag`'s throughput on the same sentences through stdin (in the same run).

    python benchmarks/serve_load.py [-m en-ner] [--requests 400] [--seconds 30] [--clients 1,8,32,128]
    python benchmarks/serve_load.py --soak 100000   # the server's RSS over that many requests, then SIGTERM under load

--soak N sends N one-sentence requests from 32 clients and prints the server's resident memory every tenth of them;
then 32 clients send requests while the server gets SIGTERM, and each request's outcome is counted: answered (200),
turned away (503), refused (no connection: the server had stopped accepting), or lost (sent on a connection, then
no answer).

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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(server: subprocess.Popen, port: int, model: str, requests: int) -> None:
    step = max(1, requests // 10)
    print(json.dumps({"requests": 0, "server_rss_mb": round(rss_mb(server.pid), 1)}), flush=True)
    for done in range(step, requests + 1, step):
        result = level(port, model, 32, 1, step, 3600)
        print(json.dumps({"requests": done, "errors": result["errors"], "p99_ms": result["p99_ms"],
                          "server_rss_mb": round(rss_mb(server.pid), 1)}), flush=True)


def shutdown_under_load(server: subprocess.Popen, port: int, model: str, clients: int = 32) -> dict:
    """SIGTERM after 2 s of load from `clients` clients; every request's outcome, counted."""
    import signal

    outcomes = {"answered": 0, "turned_away": 0, "refused": 0, "lost": 0, "other": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + 10

    def client(i: int) -> None:
        connection = None
        while time.perf_counter() < stop:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    connection.connect()
                except ConnectionRefusedError:
                    with lock:
                        outcomes["refused"] += 1
                    return
            body = json.dumps({"model": model, "text": TEXTS[i % len(TEXTS)], "split": False}).encode()
            try:
                connection.request("POST", "/tag", body, {"Content-Type": "application/json"})
            except OSError:  # the server closed this idle connection: the request never left
                connection = None
                continue
            try:
                response = connection.getresponse()
                response.read()
                key = {200: "answered", 503: "turned_away"}.get(response.status, "other")
            except (OSError, http.client.HTTPException):
                key, connection = "lost", None
            with lock:
                outcomes[key] += 1

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, i) for i in range(clients)]
        time.sleep(2)
        server.send_signal(signal.SIGTERM)
        for future in futures:
            future.result()
    outcomes["server_exit"] = server.wait(60)
    return outcomes


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
    parser.add_argument("--soak", type=int, default=0, help="requests of the memory soak (then the SIGTERM run)")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "seqtag", "serve", "-m", args.model, "--port", "0"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        port = int(line.rsplit(":", 1)[1].split()[0])
        if args.soak:
            soak(server, port, args.model, args.soak)
            print(json.dumps({"shutdown under load": shutdown_under_load(server, port, args.model)}), flush=True)
            return
        print(json.dumps({"seqtag tag, sentences per s (stdin, one process, start-up included)":
                          tag_throughput(args.model)}), flush=True)
        for per_request in (1, 20):
            for clients in (int(c) for c in args.clients.split(",")):
                result = level(port, args.model, clients, per_request, args.requests, args.seconds)
                result["server_peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
                print(json.dumps(result), flush=True)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
