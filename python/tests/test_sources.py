"""libeql.Engine(source=...): records of other data sources (docs/sources.md).

The records are the hand-written ones of tests/sources/data/nodejs: each
carries "test_expect" (appdata, preload, inline, benign) for the three branch
rules of "Suspicious Execution with NodeJS" in examples/rules.
"""
import json

import pytest

import libeql

FILES = {
    "sysmon_winlogbeat.ndjson": "sysmon",
    "sysmon_evtx.ndjson": "sysmon",
    "winsec.ndjson": "winsec",
    "crowdstrike.ndjson": "crowdstrike",
    "mde.ndjson": "mde",
    "sentinelone.ndjson": "sentinelone",
}
BRANCHES = {"nodejs_appdata_execution": "appdata", "nodejs_preload_by_powershell": "preload",
            "nodejs_inline_code": "inline"}


def records(repo, name):
    path = repo / "tests" / "sources" / "data" / "nodejs" / name
    return [line for line in path.read_text().splitlines() if line]


def branch_rules(repo):
    return [r for name in BRANCHES
            for r in libeql.load_rules(repo / "examples" / "rules" / f"{name}.eql")]


def expected(record, source):
    want = json.loads(record)["test_expect"]
    # FDR paths are \Device\HarddiskVolumeN\Users\..., which the published
    # AppData pattern (with a doubled backslash) does not match.
    if want == "appdata" and source == "crowdstrike":
        return set()
    return set() if want == "benign" else {want}


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("mode", ["named", "auto"])
@pytest.mark.parametrize("form", ["str", "dict"])
def test_branch_rules_fire_on_their_attacks(repo, name, mode, form):
    source = FILES[name] if mode == "named" else "auto"
    engine = libeql.Engine(branch_rules(repo), source=source)
    for record in records(repo, name):
        alerts = engine.push(record if form == "str" else json.loads(record))
        fired = {BRANCHES[a["rule"]["name"]] for a in alerts}
        assert fired == expected(record, FILES[name]), record
        for a in alerts:
            event = a["events"][0]
            # The ECS event, with the record as it came in event.original.
            assert event["process"]["name"] == "node.exe"
            assert json.loads(event["event"]["original"]) == json.loads(record)
            assert event["host"]["os"]["type"] == "windows"
    s = engine.stats
    assert s["events_malformed"] == 0
    assert s["sources"] == {FILES[name]: {"records": 12, "normalized": 12, "passed_through": 0,
                                          "unrecognized": 0}}


def test_auto_mixes_sources_in_one_stream(repo):
    engine = libeql.Engine(branch_rules(repo), source="auto", batch=True)
    want = 0
    for name in sorted(FILES):
        for record in records(repo, name):
            engine.push(record)
            want += len(expected(record, FILES[name]))
    alerts = engine.flush()
    assert len(alerts) == want == 5 * 6 - 1  # CrowdStrike's AppData record is missed
    assert set(engine.stats["sources"]) == {"sysmon", "winsec", "crowdstrike", "mde", "sentinelone"}


def test_sequence_rule_on_crowdstrike_linux(repo):
    rules = libeql.load_rules(repo / "examples" / "rules" / "nodejs_install_script.toml")
    engine = libeql.Engine(rules, source="crowdstrike")
    alerts = list(engine.push_many(records(repo, "linux_install_crowdstrike.ndjson"), flush=True))
    assert len(alerts) == 2
    for a in alerts:
        assert [json.loads(e["event"]["original"])["test_expect"] for e in a["events"]][0] == "stage1"
        assert a["events"][1]["process"]["parent"]["name"] == "node"


def test_unrecognized_record_is_an_event_error():
    engine = libeql.Engine('process where true', source="auto")
    with pytest.raises(libeql.EventError):
        engine.push({"hello": "world"})
    with pytest.raises(libeql.EventError):
        engine.push('{"hello": "world"}')
    assert engine.stats["sources"]["auto"]["unrecognized"] == 2
    assert engine.stats["events_malformed"] == 2


def test_ecs_is_the_default_and_has_no_source_stats():
    engine = libeql.Engine('process where true')
    engine.push({"@timestamp": 1, "event": {"category": "process"}})
    assert engine.stats["sources"] == {}


@pytest.mark.parametrize("source", ["ecs", "sysmon", "winsec", "crowdstrike", "mde",
                                    "sentinelone", "auto"])
def test_every_source_name_is_accepted(source):
    libeql.Engine('process where true', source=source)


def test_unknown_source_names_the_valid_ones():
    with pytest.raises(ValueError, match="sysmon"):
        libeql.Engine('process where true', source="splunk")
