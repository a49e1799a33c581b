"""The seed rules of examples/rules fire on examples/data as the README says."""
import json

import pytest

import libeql


@pytest.fixture(scope="module")
def rules(repo):
    errors = []
    loaded = libeql.load_rules(repo / "examples" / "rules", errors)
    assert errors == []
    assert len(loaded) == 5
    return loaded


def entity_ids(alert):
    return [e["process"]["entity_id"] for e in alert["events"]]


def test_load_rules_fields(rules, repo):
    by_name = {r["name"]: r for r in rules}
    toml_rule = by_name["Suspicious Execution with NodeJS"]
    assert toml_rule["rule_id"] == "55f711c1-6b4d-4787-930d-c9317a885adf"
    assert toml_rule["severity"] == "high" and toml_rule["risk_score"] == 73
    assert "nodejs_inline_code" in by_name  # .eql rules are named after the file
    with pytest.raises(FileNotFoundError):
        libeql.load_rules(repo / "examples" / "no-such-rules")


def test_linux_npm_sequences(rules, repo):
    engine = libeql.Engine(rules, batch=True)
    assert engine.rejected == []
    alerts = list(engine.run_file(repo / "examples" / "data" / "linux-npm.ndjson"))
    assert len(alerts) == 2
    assert all(a["rule"]["name"] == "Node.js Pre or Post-Install Script Execution" for a in alerts)
    assert sorted(entity_ids(a) for a in alerts) == [["a-101", "a-102"], ["d-400", "d-401"]]


def test_windows_node(rules, repo):
    engine = libeql.Engine(rules, batch=True)
    alerts = list(engine.run_file(repo / "examples" / "data" / "windows-node.ndjson"))
    hits = sorted(entity_ids(a)[0] for a in alerts
                  if a["rule"]["name"] == "Suspicious Execution with NodeJS")
    assert hits == ["w1-10", "w1-11", "w2-20", "w2-22"]


@pytest.mark.parametrize("data", ["linux-npm.ndjson", "windows-node.ndjson"])
def test_file_dict_and_json_agree(rules, repo, data):
    path = repo / "examples" / "data" / data
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    from_file = list(libeql.Engine(rules, batch=True).run_file(path))
    from_text = list(libeql.Engine(rules, batch=True).push_many(lines, flush=True))
    dicts = [json.loads(line) for line in lines]
    from_dicts = list(libeql.Engine(rules, batch=True).push_many(dicts, flush=True))
    assert from_file == from_text == from_dicts
    assert from_file
    # Streaming (not batch) finds the same alerts once flushed.
    engine = libeql.Engine(rules, allowed_lateness="1m")
    streamed = [a for d in dicts for a in engine.push(d)] + engine.flush()
    key = lambda a: json.dumps(a, sort_keys=True)
    assert sorted(map(key, streamed)) == sorted(map(key, from_file))
