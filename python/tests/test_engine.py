"""libeql.Engine: rules, options, push/flush/push_many/run_file, errors, stats."""
import gzip
import json
import threading

import pytest

import libeql

NODE = 'process where process.name == "node"'
SEQ = ('sequence by host.id with maxspan=10s '
       '[process where process.name == "node"] [process where process.name == "sh"]')


def ev(ts, name, host="h1", **extra):
    event = {"@timestamp": ts, "event": {"category": ["process"]},
             "host": {"id": host}, "process": {"name": name}}
    event.update(extra)
    return event


def test_single_event_rule_from_dict():
    engine = libeql.Engine(NODE)
    e = ev(1000, "node", pid=7, ratio=0.5, tags=["a", None, True], big=2**70)
    alerts = engine.push(e)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["rule"]["name"] == "rule 1"  # the engine's default: 1-based
    assert "join_keys" not in alert
    got = alert["events"][0]
    assert got == e  # the dict as given (beyond int64 too: rules read it as a double)
    assert type(got["big"]) is int
    assert engine.push(ev(1001, "bash")) == []
    assert engine.flush() == []


def test_dict_and_json_give_the_same_alerts():
    events = [ev(1000 + i, n, host=f"h{i // 2}") for i, n in enumerate(["node", "sh", "node", "sh", "x"])]
    results = []
    for kind in ("dict", "str", "bytes"):
        engine = libeql.Engine([NODE, SEQ])
        alerts = []
        for e in events:
            if kind == "dict":
                alerts += engine.push(e)
            elif kind == "str":
                alerts += engine.push(json.dumps(e))
            else:
                alerts += engine.push(json.dumps(e).encode())
        alerts += engine.flush()
        results.append(alerts)
    assert results[0] == results[1] == results[2]
    assert sum(1 for a in results[0] if "join_keys" in a) == 2
    # Events of the alerts are the pushed dicts in content.
    assert results[0][0]["events"][0] == events[0]
    assert libeql.Engine(NODE).push(bytearray(json.dumps(events[0]).encode())) == \
        libeql.Engine(NODE).push(events[0])


def test_dotted_top_level_key_kept_as_written():
    engine = libeql.Engine('process where `process.name` == "node"', category_field="cat")
    e = {"@timestamp": 5, "cat": "process", "process.name": "node"}
    from_dict = engine.push(e)
    from_json = engine.push(json.dumps(e))
    assert len(from_dict) == 1
    assert from_dict == from_json
    assert from_dict[0]["events"][0] == e


def test_rule_dicts_metadata_and_rules_property():
    engine = libeql.Engine([{"query": NODE, "name": "n", "rule_id": "r-1", "severity": "high",
                             "risk_score": 73, "description": "ignored"}])
    alert = engine.push(ev(1, "node"))[0]
    assert alert["rule"] == {"name": "n", "id": "r-1", "severity": "high", "risk_score": 73}
    assert engine.rules[0]["name"] == "n"


def test_rejected_rules_reported_others_run():
    engine = libeql.Engine([NODE, "process where =", "process where nosuchfunction(x)"])
    rejected = engine.rejected
    assert [r["index"] for r in rejected] == [1, 2]
    d = rejected[0]["diagnostics"][0]
    assert d["line"] == 1 and d["column"] > 1 and d["message"] and "^" in d["caret"]
    assert len(engine.push(ev(1, "node"))) == 1


def test_all_rules_rejected_raises():
    with pytest.raises(libeql.EqlSyntaxError) as info:
        libeql.Engine(["process where ==", "sequence [x where"])
    assert info.value.line == 1 and info.value.column > 1
    with pytest.raises(libeql.EqlSyntaxError):
        libeql.Engine("process where name =")


@pytest.mark.parametrize("kwargs, error", [
    ({"source": "splunk"}, ValueError),
    ({"allowed_lateness": -1}, ValueError),
    ({"allowed_lateness": "10 parsecs"}, ValueError),
    ({"allowed_lateness": 1.5}, TypeError),
    ({"late_policy": "guess"}, ValueError),
    ({"allowed_lateness": 2**70}, ValueError),
    ({"allowed_lateness": "999999999999d"}, ValueError),
    ({"allowed_lateness": "s"}, ValueError),
    ({"max_partials": -1}, TypeError),
    ({"batch": "yes"}, TypeError),
])
def test_invalid_options(kwargs, error):
    with pytest.raises(error):
        libeql.Engine(NODE, **kwargs)


def test_invalid_rules_argument():
    with pytest.raises(ValueError):
        libeql.Engine([])
    with pytest.raises(TypeError):
        libeql.Engine([42])
    with pytest.raises(ValueError):
        libeql.Engine([{"name": "no query"}])


def test_allowed_lateness_string_holds_events():
    # With 10s of lateness an event is released only once the watermark passes
    # it by 10s; with 0 it is released at once.
    engine = libeql.Engine(NODE, allowed_lateness="10s")
    assert engine.push(ev(1000, "node")) == []
    assert engine.push(ev(5000, "x")) == []
    assert len(engine.push(ev(12000, "x"))) == 1
    eager = libeql.Engine(NODE, allowed_lateness=0)
    assert len(eager.push(ev(1000, "node"))) == 1


def test_late_events_counted():
    engine = libeql.Engine(NODE)
    engine.push(ev(10_000, "x"))
    assert engine.push(ev(1_000, "node")) == []
    assert engine.stats["events_late"] == 1
    keep = libeql.Engine(NODE, late_policy="process")
    keep.push(ev(10_000, "x"))
    assert len(keep.push(ev(1_000, "node"))) == 1


def test_batch_mode_waits_for_flush_and_sorts():
    engine = libeql.Engine(SEQ, batch=True)
    # Out of order: sorted at flush, the sequence node -> sh completes.
    assert engine.push(ev(2000, "sh")) == []
    assert engine.push(ev(1000, "node")) == []
    alerts = engine.flush()
    assert len(alerts) == 1
    assert [e["process"]["name"] for e in alerts[0]["events"]] == ["node", "sh"]
    assert alerts[0]["join_keys"] == ["h1"]


def test_tiebreaker_and_timestamp_fields():
    engine = libeql.Engine(SEQ.replace("host.id", "hid"), batch=True, timestamp_field="t",
                           tiebreaker_field="n")
    engine.push({"t": 1, "n": 2, "hid": 1, "event": {"category": "process"}, "process": {"name": "sh"}})
    engine.push({"t": 1, "n": 1, "hid": 1, "event": {"category": "process"}, "process": {"name": "node"}})
    assert len(engine.flush()) == 1


def test_malformed_event_raises_and_engine_survives():
    engine = libeql.Engine(NODE)
    for bad in ['{"a": ', "[1, 2]", b"\xff\xfe", "not json"]:
        with pytest.raises(libeql.EventError) as info:
            engine.push(bad)
        assert isinstance(info.value, ValueError)
    with pytest.raises(libeql.EventError):
        engine.push({"x": {1, 2}})          # a set is not a JSON value
    with pytest.raises(libeql.EventError):
        engine.push({"x": float("nan")})
    with pytest.raises(libeql.EventError):
        engine.push({1: "int key"})
    with pytest.raises(TypeError):
        engine.push(42)
    deep = {}
    node = deep
    for _ in range(2000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(libeql.EventError):
        engine.push(deep)
    assert engine.stats["events_malformed"] == 8
    assert len(engine.push(ev(1, "node"))) == 1


def test_push_many_counts_and_skips_malformed():
    engine = libeql.Engine(NODE)
    errors = []
    events = [ev(1, "node"), "{broken", ev(2, "x"), {"bad": object()}, json.dumps(ev(3, "node"))]
    alerts = list(engine.push_many(events, on_error=lambda pos, msg: errors.append((pos, msg))))
    assert len(alerts) == 2
    assert [pos for pos, _ in errors] == [1, 3]
    assert all(msg for _, msg in errors)
    stats = engine.stats
    assert stats["events_malformed"] == 2
    assert stats["events_in"] == 5
    assert stats["events_processed"] == 3


def test_push_many_skips_items_of_the_wrong_type():
    engine = libeql.Engine(NODE)
    errors = []
    alerts = list(engine.push_many([ev(1, "node"), 42, None, ev(2, "node")],
                                   on_error=lambda pos, msg: errors.append((pos, msg))))
    assert len(alerts) == 2
    assert [pos for pos, _ in errors] == [1, 2]
    assert "int" in errors[0][1]
    assert engine.stats["events_malformed"] == 2


def test_generator_not_reentrant():
    engine = libeql.Engine(NODE)
    holder = {}

    def reenter(pos, msg):
        next(holder["gen"])

    holder["gen"] = engine.push_many(["{", ev(1, "node")], on_error=reenter)
    with pytest.raises(ValueError, match="already executing"):
        list(holder["gen"])


def test_push_many_is_lazy_and_flushes_on_request():
    engine = libeql.Engine(SEQ, batch=True)
    gen = engine.push_many(iter([ev(2, "sh"), ev(1, "node")]))
    assert engine.stats["events_in"] == 0  # nothing consumed before iteration
    assert list(gen) == []                 # batch: nothing before flush
    assert len(engine.flush()) == 1
    engine2 = libeql.Engine(SEQ, batch=True)
    assert len(list(engine2.push_many([ev(2, "sh"), ev(1, "node")], flush=True))) == 1


def test_push_many_many_chunks():
    # More events than one chunk, alerts from every chunk.
    engine = libeql.Engine(NODE)
    n = 10_000
    alerts = list(engine.push_many(ev(i, "node" if i % 100 == 0 else "x") for i in range(n)))
    assert len(alerts) == n // 100
    assert engine.stats["events_processed"] == n


def test_on_error_exception_propagates():
    engine = libeql.Engine(NODE)

    def boom(pos, msg):
        raise KeyError("from callback")

    with pytest.raises(KeyError):
        list(engine.push_many(["{"], on_error=boom))
    with pytest.raises(TypeError):
        engine.push_many([], on_error=5)


def test_run_file_ndjson_gzip_array_and_errors(tmp_path):
    lines = [json.dumps(ev(1, "node")), "{oops", json.dumps(ev(2, "x")), json.dumps(ev(3, "node"))]
    plain = tmp_path / "e.ndjson"
    plain.write_text("\n".join(lines) + "\n")
    packed = tmp_path / "e.json.gz"
    with gzip.open(packed, "wt") as f:
        json.dump([ev(1, "node"), ev(2, "x"), ev(3, "node")], f)
    errors = []
    engine = libeql.Engine(NODE)
    alerts = list(engine.run_file(plain, on_error=lambda line, msg: errors.append(line)))
    assert len(alerts) == 2
    assert errors == [2]                       # 1-based line of the bad piece
    assert engine.stats["events_malformed"] == 1
    engine = libeql.Engine(NODE)
    assert len(list(engine.run_file(str(packed)))) == 2
    with pytest.raises(FileNotFoundError):
        engine.run_file(tmp_path / "nope.ndjson")


def test_run_file_without_flush_keeps_state(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_text(json.dumps(ev(2, "sh")) + "\n" + json.dumps(ev(1, "node")) + "\n")
    engine = libeql.Engine(SEQ, batch=True)
    assert list(engine.run_file(path, flush=False)) == []
    assert len(engine.flush()) == 1


def test_stats_keys():
    engine = libeql.Engine([NODE, SEQ])
    engine.push(ev(1, "node"))
    s = engine.stats
    for key in ["events_in", "events_malformed", "events_no_timestamp", "events_late",
                "events_processed", "alerts", "partials_live", "partials_expired",
                "partials_evicted", "rules"]:
        assert key in s
    assert s["alerts"] == 1
    assert len(s["rules"]) == 2
    assert s["rules"][0]["alerts"] == 1
    assert s["rules"][1]["partials_created"] == 1
    assert s["rules"][1]["partials_live"] == 1


def test_engine_shared_between_threads():
    engine = libeql.Engine(NODE)
    counts = []

    def work(offset):
        counts.append(len(list(engine.push_many(ev(offset + i, "node") for i in range(2000)))))

    # Allowed lateness is 0 and threads interleave, so some events are late;
    # what matters is that concurrent use neither crashes nor loses counts.
    threads = [threading.Thread(target=work, args=(k * 1_000_000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = engine.stats
    assert s["events_in"] == 8000
    assert s["events_processed"] + s["events_late"] == 8000
    assert sum(counts) == s["alerts"]


def test_help_is_useful():
    import pydoc
    text = pydoc.render_doc(libeql.Engine, renderer=pydoc.plaintext)
    for needle in ["allowed_lateness", "rejected", "push_many", "run_file", "on_error",
                   "EqlSyntaxError", "join_keys"]:
        assert needle in text, needle


def test_docstrings():
    assert "rejected" in libeql.Engine.__doc__
    for name in ["push", "push_many", "run_file", "flush"]:
        assert getattr(libeql.Engine, name).__doc__
    assert libeql.parse.__doc__ and libeql.load_rules.__doc__
    assert issubclass(libeql.EqlSyntaxError, ValueError)
    assert issubclass(libeql.EventError, ValueError)


def test_interpreter_exits_cleanly():
    # Module state must not outlive the interpreter (a static Python object
    # destroyed after finalization crashes the process at exit).
    import os
    import subprocess
    import sys
    code = ("import libeql\n"
            "e = libeql.Engine('process where true')\n"
            "assert len(e.push({'@timestamp': 1, 'event': {'category': 'process'}})) == 1\n"
            "list(e.push_many(['{']))\n")
    done = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(),
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


def test_gil_released_while_reading_a_file(tmp_path):
    import sys
    import time
    path = tmp_path / "many.ndjson"
    with open(path, "w") as f:
        for i in range(100_000):
            f.write(json.dumps(ev(i, "node" if i % 1000 == 0 else "x")) + "\n")
    ticks = 0
    stop = False

    def counter():
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0)  # gives the GIL back at once

    # With a 100 s switch interval the main thread never hands the GIL over
    # by force: the counter runs only while the engine has released it.
    old = sys.getswitchinterval()
    sys.setswitchinterval(100)
    thread = threading.Thread(target=counter)
    try:
        thread.start()
        ticks_before = ticks
        engine = libeql.Engine(NODE)
        alerts = sum(1 for _ in engine.run_file(path))
        ticks_during = ticks - ticks_before
    finally:
        stop = True
        sys.setswitchinterval(old)
        thread.join()
    assert alerts == 100
    assert ticks_during > 10


def test_missing_stage_and_sample_alerts():
    seq = libeql.Engine(
        "sequence by host.id with maxspan=10s [process where process.name == \"a\"] "
        "![process where process.name == \"b\"] [process where process.name == \"c\"]", batch=True)
    seq.push(ev(1, "a"))
    seq.push(ev(2, "c"))
    [alert] = seq.flush()
    assert alert["events"][1] == {"missing": True}
    assert alert["events"][0] == ev(1, "a") and alert["events"][2] == ev(2, "c")
    sample = libeql.Engine("sample by host.id [process where process.name == \"a\"] "
                           "[process where process.name == \"c\"]", batch=True)
    for e in [ev(1, "a"), ev(2, "c"), ev(3, "a", host="h2")]:
        sample.push(e)
    [alert] = sample.flush()
    assert alert["join_keys"] == ["h1"]
    assert alert["events"] == [ev(1, "a"), ev(2, "c")]


def test_checkpoint_and_restore_carry_a_sequence_across_engines():
    events = [ev(1000, "node", host="h1"), ev(1500, "node", host="h2"),
              ev(2000, "sh", host="h1"), ev(2500, "sh", host="h2")]
    whole = libeql.Engine(SEQ, allowed_lateness="1s")
    expected = [a for e in events for a in whole.push(e)] + whole.flush()
    assert len(expected) == 2

    first = libeql.Engine(SEQ, allowed_lateness="1s")
    got = [a for e in events[:2] for a in first.push(e)]
    state = first.checkpoint()
    assert isinstance(state, bytes) and state.startswith(b"LIBEQL-S")
    del first  # the process stops
    second = libeql.Engine(SEQ, allowed_lateness="1s")
    second.restore(state)
    got += [a for e in events[2:] for a in second.push(e)] + second.flush()
    assert got == expected
    assert second.stats["events_in"] == 4
    print(f"checkpoint: {len(state)} bytes; {len(got)} alerts after a restart, as without one")


def test_restore_refuses_bad_state_and_keeps_the_engine():
    engine = libeql.Engine(SEQ)
    engine.push(ev(1000, "node"))
    with pytest.raises(ValueError, match="not a libeql snapshot"):
        engine.restore(b"{}")
    other = libeql.Engine(NODE).checkpoint()
    with pytest.raises(ValueError, match="rule 1"):
        engine.restore(other)
    state = libeql.Engine(SEQ).checkpoint()
    with pytest.raises(ValueError, match="corrupt"):
        engine.restore(state[:-2])
    # The engine kept its partial: the child still completes the sequence.
    assert len(engine.push(ev(2000, "sh"))) == 1
