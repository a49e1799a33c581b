"""libeql.parse(): canonical text, kind, and syntax errors with positions."""
import pytest

import libeql


def test_event_query_round_trip():
    q = libeql.parse('process   where process.name ==   "node"')
    assert q.kind == "event"
    assert q.text == 'process where process.name == "node"'
    assert q.source == 'process   where process.name ==   "node"'
    # The canonical form is a fixed point of parse/print.
    assert libeql.parse(q.text).text == q.text
    assert libeql.parse(q.text) == q
    assert str(q) == q.text
    assert repr(q) == "<libeql.Query kind=event text='process where process.name == \"node\"'>"
    assert hash(q) == hash(libeql.parse(q.text))


def test_sequence_and_sample_kinds():
    seq = libeql.parse(
        "sequence by host.id with maxspan=10s [process where true] by a [process where true] by b"
    )
    assert seq.kind == "sequence"
    assert libeql.parse(seq.text).text == seq.text
    assert "maxspan=10s" in seq.text
    sample = libeql.parse("sample by host.id [process where true] [network where true]")
    assert sample.kind == "sample"
    assert libeql.parse(sample.text).text == sample.text


def test_syntax_error_position_and_caret():
    with pytest.raises(libeql.EqlSyntaxError) as info:
        libeql.parse("process where name ==")
    e = info.value
    assert isinstance(e, ValueError)
    assert (e.line, e.column) == (1, 22)
    assert "expected" in e.message
    assert e.caret.splitlines()[1].strip() == "process where name =="
    # The caret sits under column 22 (two spaces of indent in Format()).
    assert e.caret.splitlines()[2].index("^") == 2 + 21
    assert e.diagnostics[0]["line"] == 1 and e.diagnostics[0]["column"] == 22
    assert e.message in str(e)


def test_syntax_error_on_later_line():
    with pytest.raises(libeql.EqlSyntaxError) as info:
        libeql.parse("process where\n  name = 1")
    assert info.value.line == 2
    assert info.value.column >= 3


def test_parse_rejects_non_str():
    with pytest.raises(TypeError):
        libeql.parse(42)
