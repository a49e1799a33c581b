"""Python throughput: run_file against eql-run on one file, and push(dict).

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_python.py [EVENTS.ndjson] [--push-only]

EVENTS defaults to /tmp/libeql-bench-1m.ndjson (build/bin/eql-gen --events 1000000
--seed 42 --attacks 500). Runs alternate to share the machine's noise; medians.
EQL_BUILD_DIR names the build folder holding bin/eql-run (default: build).
--push-only measures push(dict) alone (five runs).
"""
import os
import json
import statistics
import subprocess
import sys
import time

import libeql

args = [a for a in sys.argv[1:] if not a.startswith("--")]
push_only = "--push-only" in sys.argv
path = args[0] if args else "/tmp/libeql-bench-1m.ndjson"
eql_run = os.path.join(os.environ.get("EQL_BUILD_DIR", "build"), "bin", "eql-run")
rules = libeql.load_rules("examples/rules")


def run_file():
    engine = libeql.Engine(rules)
    start = time.perf_counter()
    alerts = sum(1 for _ in engine.run_file(path))
    return time.perf_counter() - start, alerts


def cli():
    start = time.perf_counter()
    subprocess.run([eql_run, "examples/rules", path], stdout=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - start


if not push_only:
    py_times, cli_times = [], []
    for _ in range(5):
        py_times.append(run_file()[0])
        cli_times.append(cli())
    py, cl = statistics.median(py_times), statistics.median(cli_times)
    print(f"run_file {py:.3f} s, eql-run {cl:.3f} s, ratio {py / cl:.3f}")

with open(path) as f:
    events = [json.loads(line) for _, line in zip(range(200_000), f)]
push_times = []
for _ in range(5 if push_only else 3):
    engine = libeql.Engine(rules)
    start = time.perf_counter()
    for event in events:
        engine.push(event)
    push_times.append(time.perf_counter() - start)
m = statistics.median(push_times)
print(f"push(dict): {len(events)} events in {m:.3f} s = {len(events) / m:,.0f} events/s")
