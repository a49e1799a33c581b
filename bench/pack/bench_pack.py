#!/usr/bin/python3
"""Rule packs and threads (issue 8): times eql-run over one generated file.

  bench/pack/bench_pack.py [--build build] [--events 1000000] [--runs 5]
                           [--only seed1,seed2,halves]

Generates (once, cached in /tmp) the wide event mix (`eql-gen --mix wide`:
process, network, file, registry, dns and authentication events on Windows,
Linux and macOS hosts), then times, alternating so that load on a shared
machine hits every variant alike:
  seq1     the seed sequence rule alone (the single-rule baseline)
  corpus   the whole detection-rules corpus (literal prefilter and shared
           leaves on, wildcard sets by the simple loop: the default)
  corpus-mp  the same with --multi-pattern (a Hyperscan literal automaton
           per field), measured against the simple loop
  seed1    the seed rule set (examples/rules), 1 thread
  seed2    the seed rule set, --threads 2
  halves   two single-thread eql-run processes at once, each over half of
           the file: what two cores give to work that shares nothing, the
           ceiling for seed2 on this machine
  load     the corpus over one event (rule-set load time)
and prints the medians and the ratios the issue asks for (of the medians,
and the median of each round's ratio).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="",
                    help="comma-separated variants to run (e.g. seed1,seed2,halves for the "
                         "threads alone); default all")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus",
                                                     "detection-rules-eql.jsonl"))
    args = ap.parse_args()
    eql_run = os.path.join(args.build, "bin", "eql-run")
    gen = os.path.join(args.build, "bin", "eql-gen")
    events = f"/tmp/libeql-bench-wide-{args.events}.ndjson"
    if not os.path.exists(events):
        with open(events, "w") as out:
            subprocess.run([gen, "--events", str(args.events), "--mix", "wide"], stdout=out,
                           stderr=subprocess.DEVNULL, check=True)
    one = "/tmp/libeql-bench-one.ndjson"
    with open(one, "w") as f:
        f.write('{"@timestamp": 1, "event": {"category": "process"}}\n')
    halves = [f"/tmp/libeql-bench-wide-{args.events}.half{i}.ndjson" for i in (1, 2)]
    if not all(os.path.exists(h) for h in halves):
        with open(events) as src, open(halves[0], "w") as a, open(halves[1], "w") as b:
            for i, line in enumerate(src):
                (a if i < args.events // 2 else b).write(line)
    rules = os.path.join(ROOT, "examples", "rules")
    variants = {
        "seq1": [eql_run, os.path.join(rules, "nodejs_install_script.toml"), events],
        "corpus": [eql_run, args.corpus, events],
        "corpus-mp": [eql_run, "--multi-pattern", args.corpus, events],
        "seed1": [eql_run, rules, events],
        "seed2": [eql_run, "--threads", "2", rules, events],
        "halves": [[eql_run, rules, h] for h in halves],
        "load": [eql_run, args.corpus, one],
        "load-mp": [eql_run, "--multi-pattern", args.corpus, one],
    }
    if args.only:
        wanted = args.only.split(",")
        unknown = [k for k in wanted if k not in variants]
        if unknown:
            sys.exit(f"unknown variants: {', '.join(unknown)} (have {', '.join(variants)})")
        variants = {k: v for k, v in variants.items() if k in wanted}
    times = {k: [] for k in variants}
    for run in range(args.runs):
        for name, cmd in variants.items():
            start = time.perf_counter()
            if isinstance(cmd[0], list):  # processes run at once
                procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for c in cmd]
                if any(p.wait() != 0 for p in procs):
                    sys.exit(f"{name} failed")
            else:
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True)
            times[name].append(time.perf_counter() - start)
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items()),
              file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = args.events
    print(f"events: {n} ({events}), runs: {args.runs}, medians:")
    for k, v in med.items():
        rate = "" if k.startswith("load") else f"  {n / v:,.0f} events/s"
        print(f"  {k:9} {v * 1000:8.0f} ms{rate}")
    # A ratio of medians, and the median of each round's ratio: the variants
    # of one round ran within seconds of each other, so a slow spell of the
    # shared machine weighs on both sides of a round's ratio.
    def ratio(num, den):
        rounds = statistics.median(a / b for a, b in zip(times[num], times[den]))
        return f"{med[num] / med[den]:.3f} (per round: {rounds:.3f})"
    def have(*names):
        return all(k in med for k in names)
    if have("seq1", "corpus"):
        print(f"corpus throughput / seed sequence rule alone: {ratio('seq1', 'corpus')} "
              f"(target >= 0.25)")
    if have("seq1", "corpus", "corpus-mp"):
        print(f"  with --multi-pattern: {ratio('seq1', 'corpus-mp')}; automaton / loop time: "
              f"{med['corpus-mp'] / med['corpus']:.2f}")
    if have("seed1", "seed2"):
        print(f"seed rule set, 2 threads / 1 thread: {ratio('seed1', 'seed2')} (target >= 1.7)")
    if have("seed1", "halves"):
        print(f"two processes on halves / 1 thread (the machine's ceiling for 2 threads): "
              f"{ratio('seed1', 'halves')}")
    if have("load", "load-mp"):
        print(f"corpus load (whole run over one event): {med['load'] * 1000:.0f} ms "
              f"(target < 500); with --multi-pattern {med['load-mp'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
