"""The documentation holds together: links resolve, named repository paths exist, the README
stays short, history is told by date and version, and nothing points outside the repository.

No network, no model: it reads the tree (and `git ls-files` for the history rule).
"""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250

# Code spans that name a repository path start with one of these.
PATH_PREFIXES = ("model/", "server/", "editor-plugin/", "hypertune/", "servercheck/", "docs/", "tests/", ".ci/")
# History is told by date and version (CHANGELOG.md), never by numbered rounds of work.
ROUNDS = re.compile(r"\b[Ss]essions? \d+|\b[Rr]ounds? \d+ of work")
# Paths outside the repository: the old shared design copy, the machines' own dirs.
OUTSIDE = re.compile(r"\.\./shared\b|(?<![\w.])/(?:root|work)/")

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def doc_files():
    """README.md, CHANGELOG.md, the plug-ins' READMEs, docs/ and the model cards."""
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    found += sorted((ROOT / "editor-plugin").glob("**/README.md"))
    found += sorted((ROOT / "docs").glob("**/*.md"))
    found += sorted((ROOT / "model" / "pretrained").glob("*/MODEL_CARD.md"))
    return [p for p in found if p.is_file() and "node_modules" not in p.parts]


def rel(path):
    return path.relative_to(ROOT).as_posix()


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line


def without_code_spans(line):
    return CODE_SPAN.sub("", line)


def slug(heading):
    """GitHub's anchor for a heading: its text lowercased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, result = {}, set()
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def test_there_are_docs_to_check():
    names = {rel(p) for p in doc_files()}
    assert {"README.md", "CHANGELOG.md", "docs/design.md"} <= names, sorted(names)


def test_relative_links_resolve():
    """Every relative [text](path) and [text](path#anchor) names a file or dir that exists, and
    the anchor a heading in that file."""
    broken = []
    for doc in doc_files():
        for number, line in prose_lines(doc):
            for target in LINK.findall(without_code_spans(line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (doc.parent / file_part).resolve() if file_part else doc
                where = f"{rel(doc)}:{number}: {target}"
                if ROOT not in dest.parents and dest != ROOT:
                    broken.append(f"{where} (outside the repository)")
                elif not dest.exists():
                    broken.append(f"{where} (no such file)")
                elif anchor:
                    if dest.is_dir() or dest.suffix.lower() != ".md":
                        broken.append(f"{where} (an anchor into a file that is not markdown)")
                    elif anchor.lower() not in anchors(dest):
                        broken.append(f"{where} (no heading with that anchor in {rel(dest)})")
    assert not broken, "links that do not resolve:\n" + "\n".join(broken)


def repository_paths(span):
    """The repository paths a code span names: none unless it starts with a known top-level dir,
    has no spaces and is not a glob, placeholder or variable."""
    if " " in span or not span.startswith(PATH_PREFIXES):
        return []
    if re.search(r"[*?\[\]{}<>$]|\.\.\.", span):
        return []
    span = span.split("::")[0]                  # tests/test_x.py::test_name
    span = re.sub(r":\d+(?:[,-]\d+)*$", "", span)  # model/x.py:78 or :78,81
    parts = span.split(":")                     # model/pretrained:models (a models path list)
    return [p.rstrip(".,;") for p in parts if p.startswith(PATH_PREFIXES)]


def test_backticked_repository_paths_exist():
    missing = []
    for doc in doc_files():
        for number, line in prose_lines(doc):
            for _, span in CODE_SPAN.findall(line):
                for path in repository_paths(span.strip()):
                    if not (ROOT / path).exists():
                        missing.append(f"{rel(doc)}:{number}: `{path}`")
    assert not missing, "paths named in the docs that are not in the tree:\n" + "\n".join(missing)


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, more than {README_MAX_LINES}: move the detail to docs/")


def tracked_text_files():
    """Files git tracks, plus new ones it does not ignore; binary files left out."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=ROOT, capture_output=True, check=True).stdout
    for name in sorted(set(out.decode("utf-8", "surrogateescape").split("\0"))):
        path = ROOT / name
        if not name or not path.is_file() or name == "tests/test_docs.py":
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            yield name, data.decode("utf-8")
        except UnicodeDecodeError:
            continue


def test_history_is_told_by_date_and_version():
    """No text file counts the project's history in numbered rounds of work ("session 9"): say
    the date and version (CHANGELOG.md)."""
    try:
        files = list(tracked_text_files())
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"git ls-files did not run: {err}")
    hits = [f"{name}:{number}: {line.strip()[:120]}"
            for name, text in files
            for number, line in enumerate(text.splitlines(), 1)
            if ROUNDS.search(line)]
    assert not hits, "history told by numbered rounds of work (use dates and versions):\n" + "\n".join(hits)


def test_docs_point_inside_the_repository():
    """No doc names ../shared (the design's old copy; docs/design.md is the repository's own) or a
    machine's own dirs (/root/..., /work/...)."""
    hits = [f"{rel(doc)}:{number}: {line.strip()[:120]}"
            for doc in doc_files()
            for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)


@pytest.mark.parametrize("heading, expected", [
    ("Quick start", "quick-start"),
    ("Through a running server (`model/benchmark_server.py`)", "through-a-running-server-modelbenchmark_serverpy"),
    ("This repository's own code", "this-repositorys-own-code"),
    ("0.10.0 - 2026-11-22", "0100---2026-11-22"),
])
def test_slug_is_githubs(heading, expected):
    assert slug(heading) == expected
