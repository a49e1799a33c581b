"""Runs the ```python blocks of docs/python.md (in order, one namespace, from
the repository root) so the documented API and outputs stay true."""
import re

import pytest

import libeql


def python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_doc_examples_run(repo, monkeypatch, capsys):
    doc = (repo / "docs" / "python.md").read_text()
    blocks = python_blocks(doc)
    assert len(blocks) >= 8, "the doc lost its examples"
    monkeypatch.chdir(repo)
    namespace = {"__name__": "docs_python_md"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/python.md block {i + 1}", "exec"), namespace)
        except Exception as e:  # name the failing block in the report
            pytest.fail(f"docs/python.md python block {i + 1} failed: {e!r}\n{block}")


def test_doc_caret_output_is_real(repo):
    # The caret shown in the doc's comment is what the module prints.
    doc = (repo / "docs" / "python.md").read_text()
    with pytest.raises(libeql.EqlSyntaxError) as info:
        libeql.parse("process where process.name ==")
    for line in info.value.caret.rstrip("\n").splitlines():
        assert "    # " + line in doc


def test_doc_names_every_engine_option(repo):
    doc = (repo / "docs" / "python.md").read_text()
    for name in ["source", "batch", "allowed_lateness", "max_partials", "max_partials_total",
                 "timestamp_field", "category_field", "tiebreaker_field", "late_policy",
                 "max_event_bytes", "push_many", "run_file", "flush", "stats", "rejected",
                 "on_error", "load_rules"]:
        assert f"{name}" in doc, name
