"""The unseen-code benchmark's files and positions, for any language the models speak.

Files are the pinned packages of a list (model/unseen/*.txt), fetched into the package cache:
every file of the language's extensions, less the minified and generated ones a corpus would
skip. Positions are drawn with a fixed seed, in code (never in comments, strings or C's
preprocessor lines), from a real lexer: Python's tokenizer for Python, Pygments' lexer for the
others:
  ident   the cursor after the first 2 characters of a name of 5 or more
  line    the cursor at a token start inside a code line (not its first token)
At every position the truth is the rest of the line, less a trailing comment.
"""
import os
import re
import tokenize

import numpy as np

from model.data import packages, sourcefilter
from model.data.corpus import generated_or_minified, read_source
from model.data.pinned import FETCHERS
from model.serving.hints import WORD
from model.serving.limits import FILES_BUDGET_DEFAULT, FILES_MAX, TEXT_CHARS
from model.text.clean import PYTHON_EXTS

MAX_FILE_BYTES = 2_000_000
# Pygments' lexer for each extension of the other languages (model.text.clean.LANGUAGES).
PYGMENTS_LEXERS = {".c": "c", ".h": "c", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
                   ".ts": "typescript", ".lua": "lua"}
SKIP_DIRS = (".dist-info", ".data", "__pycache__", "node_modules")
_NAME = re.compile(r"[A-Za-z_$][\w$]*\Z")


def benchmark_text(path, ext=".py"):
    """A file's text as the benchmark takes it, or None (too large, binary, undecodable, blank,
    or, outside Python, minified or generated)."""
    text, skip = read_source(path, ext, MAX_FILE_BYTES)
    if skip or not text.strip():
        return None
    return text if ext in PYTHON_EXTS or not generated_or_minified(path, text) else None


def package_files(list_path, cache=packages.DEFAULT_CACHE, exts=(".py",)):
    """(package/relative path, raw text, package root) of every file with one of `exts` in the
    listed packages: a PyPI package's files all; a Debian or npm package's those a corpus would
    take (model.data.sourcefilter: no tests, vendored, minified or generated files; its pin's
    root=, only=, skip= and cap=)."""
    files = []
    for pin in packages.read_package_list(list_path):
        for path, rel, root in _package_paths(pin, cache, exts):
            text = benchmark_text(path, os.path.splitext(path)[1])
            if text is not None:
                files.append((os.path.join(pin.key, rel), text, root))
    return files


def _package_paths(pin, cache, exts):
    """(path, relative path, source root) of a pinned package's files with one of `exts`."""
    if pin.source == "pypi":
        root = packages.unpack(packages.fetch(pin, cache), cache)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.endswith(SKIP_DIRS))
            for name in sorted(filenames):
                if os.path.splitext(name)[1] in exts:
                    yield os.path.join(dirpath, name), os.path.relpath(os.path.join(dirpath, name), root), root
        return
    fetcher = FETCHERS[pin.source]
    root = fetcher.source_root(fetcher.unpack(fetcher.fetch(pin, cache), cache), pin)
    taken, _ = sourcefilter.select(root, exts, set(), pin.option("only", ()), pin.option("skip", ()), pin.option("cap"))
    for path, rel in taken:
        yield path, rel, root


def _line_starts(raw):
    starts = [0]
    for line in raw.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    return starts


def code_positions(raw, ext=".py"):
    """Candidate positions in one raw file: identifiers [(offset, rest of the name, rest of the
    line)] and line positions [(offset, rest of the line)]; the rest of a line stops before its
    comment."""
    return _python_positions(raw) if ext in PYTHON_EXTS else _lexed_positions(raw, ext)


def _python_positions(raw):
    line_starts = _line_starts(raw)
    idents, lines, comment_at = [], [], {}
    tokens = []
    try:
        for tok in tokenize.generate_tokens(iter(raw.splitlines(keepends=True)).__next__):
            if tok.type == tokenize.COMMENT:
                comment_at[tok.start[0]] = tok.start[1]
            elif tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
                tokens.append(tok)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [], []
    for tok in tokens:
        row, col = tok.start
        start = line_starts[row - 1] + col
        line = raw[line_starts[row - 1]:line_starts[row] - 1]
        rest = line[col:comment_at.get(row, len(line))].rstrip()
        if tok.type == tokenize.NAME and len(tok.string) >= 5 and tok.end[0] == row:
            idents.append((start + 2, tok.string[2:], rest[2:]))
        if line[:col].strip() and rest:  # a token inside the line, not its first
            lines.append((start, rest))
    return idents, lines


def lexed_tokens(raw, ext):
    """(offset, kind, text) of the file's tokens from Pygments, kind one of "name", "code"
    (operators, punctuation, numbers), "comment", "preproc", "other" (strings, whitespace)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation

    lexer = get_lexer_by_name(PYGMENTS_LEXERS[ext], stripnl=False, ensurenl=False)
    for offset, kind, text in lexer.get_tokens_unprocessed(raw):
        if kind in Comment.Preproc or kind in Comment.PreprocFile:
            yield offset, "preproc", text
        elif kind in Comment:
            yield offset, "comment", text
        elif (kind in Name or kind in Keyword) and _NAME.match(text):
            yield offset, "name", text
        elif kind in Operator or kind in Punctuation or kind in Number:
            yield offset, "code", text
        else:
            yield offset, "other", text


def _lexed_positions(raw, ext):
    starts = _line_starts(raw)
    tokens = list(lexed_tokens(raw, ext))
    row_of = np.searchsorted(starts, [offset for offset, _, _ in tokens], side="right") - 1
    comment_at, preproc_rows = {}, set()
    for (offset, kind, text), row in zip(tokens, row_of):
        if kind == "comment":
            comment_at.setdefault(row, offset)
        elif kind == "preproc":  # a directive and its continuation lines
            preproc_rows.update(range(row, row + text.count("\n") + 1))
    idents, lines = [], []
    for (offset, kind, text), row in zip(tokens, row_of):
        if kind not in ("name", "code") or row in preproc_rows:
            continue
        line_end = starts[row + 1] - 1
        cut = min(comment_at.get(row, line_end), line_end)
        if cut < offset:
            continue  # after a comment that starts on this line (`/* a */ b`): a rare spot, left out
        rest = raw[offset:cut].rstrip()
        if kind == "name" and len(text) >= 5:
            idents.append((offset + 2, text[2:], rest[2:]))
        if raw[starts[row]:offset].strip() and rest:
            lines.append((offset, rest))
    return idents, lines


def draw_positions(files, n, seed):
    """Seeded positions of each kind, sorted by file and offset: (file index, offset, rest of the
    line, rest of the name (ident) or None (line)). Each file's language is its extension's."""
    idents, lines = [], []
    for f, (name, raw, _) in enumerate(files):
        i, l = code_positions(raw, os.path.splitext(name)[1] or ".py")
        idents += [(f, pos, line_rest, name_rest) for pos, name_rest, line_rest in i]
        lines += [(f, pos, line_rest, None) for pos, line_rest in l]
    rng = np.random.default_rng(seed)

    def pick(items):
        return [items[i] for i in sorted(rng.choice(len(items), min(n, len(items)), replace=False))] if items else []
    return pick(idents), pick(lines)


def cursor_in_word(files, positions):
    """For each position, whether the cursor is inside a name (a name character before it): the
    policy's cut takes that from the request, so the sweeps take it from the file."""
    return [bool(WORD.search(files[f][1][max(0, pos - 1):pos])) for f, pos, _, _ in positions]


def editor_request(raw, pos, chars=TEXT_CHARS):
    """What a plug-in sends while the user writes the cursor's line: the last `chars` characters
    before the cursor, and the file after the current line as the suffix."""
    line_end = raw.find("\n", pos)
    after = raw[line_end:] if line_end >= 0 else ""
    return raw[max(0, pos - chars):pos], after[:chars]


def project_files(files, f, max_files=FILES_MAX, budget=FILES_BUDGET_DEFAULT):
    """What a plug-in sends as `files` for a buffer of files[f]: other files of the same package,
    most relevant first (the same directory, then the rest, by path), whole files within the
    plug-ins' default budget (16 files, 256 000 characters)."""
    name = files[f][0]
    package, folder = name.split(os.sep)[0], os.path.dirname(name)
    others = [(os.path.dirname(n) != folder, n, raw) for i, (n, raw, _) in enumerate(files)
              if i != f and n.split(os.sep)[0] == package]
    chosen, total = [], 0
    for _, n, raw in sorted(others):
        if len(chosen) == max_files:
            break
        if total + len(raw) <= budget:
            chosen.append((n, raw))
            total += len(raw)
    return chosen
