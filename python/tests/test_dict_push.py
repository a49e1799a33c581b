"""push(dict): the dict is projected straight into the engine's record form,
reading only the members some rule reads, and rendered as JSON only when an
alert or a partial sequence needs its text; alerts show it exactly as given."""
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


def test_alert_shows_the_dict_exactly_as_given():
    # Members no rule reads, of every JSON type; an integer beyond int64 and
    # floats stay exactly what they were (json.dumps of the dict).
    e = ev(1000, "node", big=2**64 + 1, neg=-(2**70) - 3, ratio=1.0, tiny=1e-7,
           text="naïve ✓ \u2028 \"quoted\" \\ \n", nothing=None, flags=[True, False],
           nested={"a": [{"b": []}, {}], "c.d": {"e": 1.5}}, **{"dotted.key": "kept"})
    alerts = libeql.Engine(NODE).push(e)
    assert len(alerts) == 1
    got = alerts[0]["events"][0]
    assert got == e
    assert type(got["big"]) is int and type(got["ratio"]) is float
    assert list(got) == list(e)  # member order kept


def test_sequence_partial_keeps_the_text_of_its_push():
    engine = libeql.Engine(SEQ)
    first = ev(1000, "node", note="before")
    assert engine.push(first) == []
    first["note"] = "changed after the push"  # the partial already holds its text
    alerts = engine.push(ev(2000, "sh"))
    assert len(alerts) == 1
    assert alerts[0]["events"][0]["note"] == "before"


# Shapes the projector must read as the JSON projector reads their text:
# nested objects, dotted keys at any level, arrays of objects, nulls.
SHAPES = [
    {"process": {"parent": {"name": "node"}}},
    {"process": {"parent.name": "node"}},
    {"process.parent": {"name": "node"}},
    {"process.parent.name": "node"},
    {"process": [{"parent": {"name": "x"}}, {"parent": [{"name": "node"}]}]},
    {"process": {"parent": {"name": ["x", ["node"]]}}},
    {"process": {"parent": {"name": None}}},
    {"process": {"parent": "node"}},
    {"process": {"parent": {"name": 1}}},
    {"process": {"parent": {"name": "NODE"}}},
    {"process": {"parent": {"name": {"nested": "node"}}}},
]
RULES = ['process where process.parent.name == "node"',
         'process where process.parent.name : "node"',
         'process where process.parent.name == null',
         'process where ?process.parent.name != null',
         'process where process.parent.name in ("x", 1)']


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: json.dumps(s))
def test_dict_and_text_match_alike(shape):
    event = {"@timestamp": 1, "event": {"category": "process"}, **shape}
    by_dict = libeql.Engine(RULES).push(event)
    by_text = libeql.Engine(RULES).push(json.dumps(event))
    assert by_dict == by_text
    for a in by_dict:
        assert a["events"][0] == event


def test_unread_members_are_still_checked():
    engine = libeql.Engine(NODE)
    for bad in [{"unread": {"deep": float("inf")}}, {"unread": [1, {2: "int key"}]},
                {"unread": "\ud800"}, {"unread": (1, {1, 2})}]:
        with pytest.raises(libeql.EventError):
            engine.push({**ev(1, "node"), **bad})
    assert engine.stats["events_malformed"] == 4
    assert len(engine.push(ev(2, "node"))) == 1


def test_read_members_errors():
    engine = libeql.Engine(NODE)
    with pytest.raises(libeql.EventError):
        engine.push(ev(1, float("nan")))
    with pytest.raises(libeql.EventError):
        engine.push(ev(1, object()))
    assert engine.stats["events_malformed"] == 2
    assert engine.stats["events_in"] == 2


def test_threads_pushing_dicts_while_push_many_renders():
    # push() holds the GIL and try-locks the engine; push_many() holds the
    # engine lock without the GIL and takes the GIL to render each partial's
    # dict. Mixed on one engine, neither may deadlock.
    engine = libeql.Engine([NODE, SEQ], late_policy="process")
    done = []

    def single(k):
        for i in range(3000):
            engine.push(ev(i, "node" if i % 2 else "sh", host=f"s{k}"))
        done.append(k)

    def many(k):
        list(engine.push_many(ev(i, "node" if i % 2 else "sh", host=f"m{k}") for i in range(3000)))
        done.append(k)

    threads = [threading.Thread(target=f, args=(k,)) for k, f in enumerate([single, many] * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert sorted(done) == [0, 1, 2, 3]
    s = engine.stats
    assert s["events_in"] == 12000 and s["events_processed"] == 12000
    assert s["rules"][0]["alerts"] == 6000
