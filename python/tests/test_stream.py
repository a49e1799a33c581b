"""run_file streams a large file in constant memory (1,000,000 events made by
eql-gen, ~420 MB of NDJSON) and finds the attacks eql-gen planted."""
import json
import resource
import subprocess
import time

import pytest

import libeql

EVENTS = 1_000_000


def peak_rss_mb():
    # ru_maxrss is the high-water mark (KiB on Linux): it catches a file held
    # in memory even if it was freed before the measurement.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow
def test_million_events_flat_memory(tmp_path, build_dir, repo, missing):
    gen = build_dir / "bin" / "eql-gen"
    if not gen.exists():
        missing(f"{gen} (build the eql-gen target)")
    path = tmp_path / "events.ndjson"
    with open(path, "wb") as out:
        done = subprocess.run([str(gen), "--events", str(EVENTS)], stdout=out,
                              stderr=subprocess.PIPE, check=True, timeout=60)
    # eql-gen's last stderr line says how many alerts its attacks must raise.
    summary = json.loads(done.stderr.decode().strip().splitlines()[-1])
    expected = summary["expected_alerts"]
    assert path.stat().st_size > 200 * 1024 * 1024

    rules = libeql.load_rules(repo / "examples" / "rules")
    # Warm up: the first engine and alerts allocate what every run needs.
    warm = libeql.Engine(rules)
    list(warm.run_file(repo / "examples" / "data" / "windows-node.ndjson"))
    peak_before, rss_before = peak_rss_mb(), current_rss_mb()

    engine = libeql.Engine(rules, allowed_lateness="10s")
    counts = {}
    started = time.monotonic()
    for alert in engine.run_file(path):
        name = alert["rule"]["name"]
        counts[name] = counts.get(name, 0) + 1
    elapsed = time.monotonic() - started

    stats = engine.stats
    assert stats["events_in"] == EVENTS
    assert stats["events_malformed"] == 0 and stats["events_late"] == 0
    for name, n in expected.items():
        assert counts.get(name) == n, name
    growth_peak = peak_rss_mb() - peak_before
    growth_now = current_rss_mb() - rss_before
    assert growth_peak < 64, f"peak RSS grew {growth_peak:.0f} MB over a {EVENTS}-event file"
    assert growth_now < 32, f"RSS grew {growth_now:.0f} MB"
    assert elapsed < 60, f"{elapsed:.1f} s for {EVENTS} events"
