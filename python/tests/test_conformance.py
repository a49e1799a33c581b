"""Elasticsearch's EQL QA suite (test_queries.toml), event queries, through
the Python API: the same cases the C++ conformance runner checks, here proving
that dict events and the Engine options reach the engine unchanged.

Sequences and samples are left to the C++ runner (the brief for this suite).
"""
import json
import tomllib

import pytest

import libeql

SUITE = "conformance/elasticsearch/test_queries.toml"
DATA = "conformance/elasticsearch/test_data.json"


def _cases():
    # Collected at import, before fixtures exist: read the path the same way
    # as the shared_dir fixture. When it is missing, the single placeholder
    # case below lets the fixture skip (or fail under CI) with a message.
    import os
    import pathlib
    root = pathlib.Path(os.environ.get("EQL_SHARED_DIR")
                        or pathlib.Path(__file__).resolve().parents[3] / "shared")
    try:
        with open(root / SUITE, "rb") as f:
            queries = tomllib.load(f)["queries"]
    except FileNotFoundError:
        return [pytest.param(None, id="suite-missing")]
    out = []
    for case in queries:
        head = case["query"].lstrip().split(None, 1)[0]
        if head in ("sequence", "sample"):
            continue
        out.append(pytest.param(case, id=case["name"]))
    return out


CASES = _cases()


def test_suite_has_event_cases(shared_dir):
    # Guards against the filter above silently selecting nothing.
    assert len([c for c in CASES if c.values[0] is not None]) >= 90


@pytest.fixture(scope="module")
def events(shared_dir):
    with open(shared_dir / DATA) as f:
        data = json.load(f)
    for e in data:
        # FILETIME (100 ns since 1601) to epoch milliseconds, as the suite does.
        e["@timestamp"] = e["timestamp"] // 10000 - 11644473600000
    return data


@pytest.mark.parametrize("case", CASES)
def test_event_query(case, events, shared_dir):
    if case is None:
        pytest.fail(f"{SUITE} not found although {shared_dir} exists")
    engine = libeql.Engine({"query": case["query"], "name": case["name"]}, batch=True,
                           category_field="event_type", tiebreaker_field="serial_event_id")
    assert engine.rejected == []
    alerts = list(engine.push_many(events, flush=True))
    assert engine.stats["events_malformed"] == 0
    alerts = alerts[: case.get("size", 50)]
    got = [e["serial_event_id"] for a in alerts for e in a["events"]]
    assert got == case["expected_event_ids"], case["query"]
