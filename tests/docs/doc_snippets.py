#!/usr/bin/python3
"""Runs the code snippets of README.md and docs/*.md, so the docs stay true.

What is checked, per fenced block:
  ```sh / ```bash   run with bash -e -o pipefail from the repository root, with
                    the build's bin/ (eql-run) first on PATH; must exit 0.
  ```console        each `$ COMMAND` line (a trailing backslash continues it)
                    is run the same way; the lines after it, up to the next
                    `$ `, are its expected output (standard output and error
                    together, trailing spaces ignored). A line `...` stands for
                    any number of lines. The exit code is not checked: the
                    expected output shows what happened.
  ```cpp            compiled and linked against libeql by the build (target
                    doc_cpp_snippets, configured from the files that
                    `extract` writes) and run from the repository root; must
                    exit 0. A block without `main(` is the body of main(),
                    with every eql/*.hpp header and the common standard ones
                    included.
  ```python         in README.md only (docs/python.md is python/tests/
                    test_docs.py's): run with the built module on PYTHONPATH
                    when it was built, else reported as skipped.
A block is left alone when the line before its opening fence is
`<!-- no-test -->` (or `<!-- no-test: reason -->`), or when it is listed in skip.txt beside this script (for
files whose owners have not marked them yet). Other fences (``` with no
language, ```text, ```json, ...) are text, not code.

Usage:
  doc_snippets.py extract --repo DIR --out DIR     (CMake, at configure time)
  doc_snippets.py run --repo DIR --build DIR --snippets DIR [--python-dir DIR]
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SHELL = {"sh", "bash", "console"}
NO_TEST = "<!-- no-test -->"
NO_TEST_PREFIX = "<!-- no-test"  # also <!-- no-test: reason -->
CPP_PRELUDE = """\
// Generated from {origin} by tests/docs/doc_snippets.py: a block without main().
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eql/diagnostic.hpp"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "eql/reader.hpp"
#include "eql/rules.hpp"
#include "eql/sources.hpp"

int main() {{
{body}
  return 0;
}}
"""


class Snippet:
    def __init__(self, doc, line, lang, text, skipped):
        self.doc = doc          # path relative to the repository root
        self.line = line        # 1-based line of the opening fence
        self.lang = lang
        self.text = text
        self.skipped = skipped  # None, or why the block is not run

    @property
    def where(self):
        return f"{self.doc}:{self.line}"

    def first_line(self):
        for line in self.text.splitlines():
            if line.strip():
                return line.strip()
        return ""


def doc_files(repo):
    files = [repo / "README.md"] + sorted((repo / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def load_skips(here):
    """skip.txt: `FILE | FIRST LINE OF THE BLOCK | reason` per line."""
    skips = {}
    path = here / "skip.txt"
    if path.is_file():
        for raw in path.read_text().splitlines():
            if not raw.strip() or raw.startswith("#"):
                continue
            parts = [p.strip() for p in raw.split(" | ")]
            if len(parts) != 3:
                sys.exit(f"{path}: bad line (want FILE | FIRST LINE | reason): {raw}")
            skips[(parts[0], parts[1])] = parts[2]
    return skips


def snippets(repo, skips):
    fence = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
    out = []
    for path in doc_files(repo):
        rel = path.relative_to(repo).as_posix()
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = fence.match(lines[i])
            if not m:
                i += 1
                continue
            lang, start = m.group(1).lower(), i
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            text = "\n".join(lines[start + 1:j]) + "\n"
            i = j + 1
            if lang not in SHELL | {"cpp", "python"}:
                continue
            if lang == "python" and rel != "README.md":
                continue
            skipped = None
            if start > 0 and lines[start - 1].strip().startswith(NO_TEST_PREFIX):
                skipped = "marked <!-- no-test -->"
            s = Snippet(rel, start + 1, lang, text, skipped)
            if not skipped and (rel, s.first_line()) in skips:
                s.skipped = "skip.txt: " + skips[(rel, s.first_line())]
            out.append(s)
    return out


def cpp_name(s, index):
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(s.doc).stem).strip("_").lower()
    return f"doc_{stem}_{index}"


def cpp_source(s):
    if re.search(r"\bmain\s*\(", s.text):
        return f"// Generated from {s.where} by tests/docs/doc_snippets.py.\n" + s.text
    body = "\n".join(("  " + l) if l else "" for l in s.text.splitlines())
    return CPP_PRELUDE.format(origin=s.where, body=body)


def cpp_snippets(all_snippets):
    """(name, snippet) for every C++ block to build, numbered per document."""
    out, count = [], {}
    for s in all_snippets:
        if s.lang != "cpp" or s.skipped:
            continue
        count[s.doc] = count.get(s.doc, 0) + 1
        out.append((cpp_name(s, count[s.doc]), s))
    return out


def extract(args):
    repo, outdir = Path(args.repo), Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for name, s in cpp_snippets(snippets(repo, load_skips(Path(__file__).parent))):
        path = outdir / f"{name}.cpp"
        text = cpp_source(s)
        wanted.add(path.name)
        if not path.is_file() or path.read_text() != text:  # keep mtimes: no needless rebuilds
            path.write_text(text)
        print(f"{name}|{path}")
    for old in outdir.glob("*.cpp"):
        if old.name not in wanted:
            old.unlink()


def run_shell(command, repo, env):
    p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=repo, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    return p.returncode, p.stdout


def console_steps(text):
    """[(command, expected lines)] of a console block."""
    steps, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if line.strip():
                raise ValueError(f"output before the first `$ ` command: {line!r}")
            i += 1
            continue
        command = line[2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command + "\n" + lines[i]
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i].rstrip())
            i += 1
        while expected and not expected[-1]:
            expected.pop()
        steps.append((command, expected))
    return steps


def matches(expected, actual):
    """Line match where `...` stands for any run of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def show(text, prefix="    | "):
    return "\n".join(prefix + l for l in text.rstrip("\n").splitlines())


def run(args):
    repo, build = Path(args.repo).resolve(), Path(args.build).resolve()
    snippet_dir = Path(args.snippets).resolve()
    all_snippets = snippets(repo, load_skips(Path(__file__).parent))
    if args.only:
        all_snippets = [s for s in all_snippets if s.doc == args.only]
    env = dict(os.environ)
    env["PATH"] = f"{build / 'bin'}:{env.get('PATH', '')}"
    failures, passed, skipped = [], 0, 0

    print(f"doc snippets of README.md and docs/*.md: {len(all_snippets)} blocks", flush=True)
    cpp = cpp_snippets(all_snippets)
    # Build eql-run and the C++ blocks (re-extracted by CMake if a doc changed).
    print("building eql-run and the C++ blocks (target doc_cpp_snippets)", flush=True)
    b = subprocess.run(["cmake", "--build", str(build), "--target", "eql-run", "doc_cpp_snippets"]
                       if not args.no_build else ["true"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    build_ok = b.returncode == 0
    if not build_ok:
        failures.append("build of the C++ blocks")
        print("FAIL build of eql-run / doc_cpp_snippets:\n" + show(b.stdout[-6000:]), flush=True)

    cpp_by_snippet = {id(s): name for name, s in cpp}
    for s in all_snippets:
        label = f"{s.where} ({s.lang}: {s.first_line()[:70]})"
        if s.skipped:
            skipped += 1
            print(f"SKIP {label}: {s.skipped}", flush=True)
            continue
        ok, detail = True, ""
        if s.lang in ("sh", "bash"):
            code, out = run_shell(s.text, repo, env)
            ok = code == 0
            detail = f"exit code {code}\n" + show(out)
        elif s.lang == "console":
            try:
                steps = console_steps(s.text)
            except ValueError as e:
                steps, ok, detail = [], False, str(e)
            for command, expected in steps:
                code, out = run_shell(command, repo, env)
                actual = [l.rstrip() for l in out.rstrip("\n").splitlines()] if out.strip() else []
                if not matches(expected, actual):
                    ok = False
                    detail += (f"$ {command}\n  exit code {code}\n  expected:\n"
                               + show("\n".join(expected) or "(nothing)")
                               + "\n  got:\n" + show("\n".join(actual) or "(nothing)") + "\n")
        elif s.lang == "cpp":
            name = cpp_by_snippet[id(s)]
            exe = snippet_dir / name
            source = snippet_dir / f"{name}.cpp"
            if not build_ok:
                ok, detail = False, "not built (see the build failure above)"
            elif not source.is_file() or source.read_text() != cpp_source(s):
                ok, detail = False, f"{source} is stale: reconfigure the build"
            else:
                p = subprocess.run([str(exe)], cwd=repo, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=300)
                ok = p.returncode == 0
                detail = f"{name} exit code {p.returncode}\n" + show(p.stdout)
        elif s.lang == "python":
            pydir = Path(args.python_dir) if args.python_dir else None
            if pydir is None or not list(pydir.glob("libeql*.so")):
                skipped += 1
                print(f"SKIP {label}: the Python module is not built", flush=True)
                continue
            penv = dict(env)
            penv["PYTHONPATH"] = str(pydir)
            p = subprocess.run([sys.executable, "-c", s.text], cwd=repo, env=penv,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=300)
            ok = p.returncode == 0
            detail = f"exit code {p.returncode}\n" + show(p.stdout)
        if ok:
            passed += 1
            print(f"ok   {label}", flush=True)
        else:
            failures.append(label)
            print(f"FAIL {label}\n{detail}", flush=True)

    print(f"\n{passed} passed, {len(failures)} failed, {skipped} skipped")
    for f in failures:
        print(f"  failed: {f}")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--repo", required=True)
    e.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--repo", required=True)
    r.add_argument("--build", required=True)
    r.add_argument("--snippets", required=True)
    r.add_argument("--python-dir")
    r.add_argument("--no-build", action="store_true",
                   help="do not build first (when working on a doc; C++ blocks must be built)")
    r.add_argument("--only", help="run only the blocks of this file (e.g. docs/language.md)")
    args = parser.parse_args()
    if args.mode == "extract":
        extract(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
