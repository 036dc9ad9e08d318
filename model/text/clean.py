"""The cleaning function: raw source text -> what the model sees, and the one table of
languages and their file extensions.

The corpus builder runs clean() on every file and the Completer runs it on every request,
with the extension the model dir records, so training and serving never disagree. Python is read
with tokenize, C, JavaScript, TypeScript and Lua by model.text.lexed, the rest by a best-effort scan.
"""
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

from model.text import lexed

# Each document the model sees starts with this character, so it learns what the top of a
# file looks like; the Completer puts it in front of a buffer it sees from the start.
FILE_START = "\x1c"

DEFAULT_CLEANING = {
    "strip_comments": True,
    "strip_docstrings": True,
    "max_literal_lines": 100,  # drop a dict/list/tuple literal spanning more lines than this
    "tab_size": 4,
    "max_blank_lines": 2,
}

# language -> the extensions of its files; the first is what a model of that language cleans a
# request as when its model dir does not say (one written before meta.json had "extension").
LANGUAGES = {
    "python": (".py", ".pyw", ".pyi"),
    "c": (".c", ".h"),
    "javascript": (".js", ".mjs", ".cjs"),
    "typescript": (".ts",),
    "lua": (".lua",),
    "go": (".go",),
    "rust": (".rs",),
    "java": (".java",),
    "ruby": (".rb",),
    "shell": (".sh",),
}
PYTHON_EXTS = set(LANGUAGES["python"])
# What corpora, benchmarks and project runs read of each language: no stubs (no code to complete).
SOURCE_EXTENSIONS = {language: tuple(e for e in exts if e != ".pyi") for language, exts in LANGUAGES.items()}

# Best-effort comment syntax (line markers, block pairs) for languages model.text.lexed does not read.
COMMENT_SYNTAX = {
    "c": (["//"], [("/*", "*/")]),
    "hash": (["#"], []),
    "sql": (["--"], [("/*", "*/")]),
}
EXT_COMMENTS = {
    **{e: "c" for e in ".cc .cpp .cxx .hpp .hh .java .tsx .jsx .go .rs .cs "
       ".swift .kt .kts .scala .dart .php .css .scss".split()},
    **{e: "hash" for e in ".sh .bash .zsh .rb .pl .pm .r .yaml .yml .toml .cfg .conf .mk .cmake".split()},
    ".sql": "sql",
}


def language_of(ext):
    """'.js' -> 'javascript'; an extension the table does not know names itself ('.kt' -> 'kt')."""
    return next((lang for lang, exts in LANGUAGES.items() if ext in exts), ext.lstrip("."))


def extension_of(language):
    """'javascript' -> '.js', the inverse of language_of."""
    return LANGUAGES[language][0] if language in LANGUAGES else "." + language


@dataclass
class Cleaned:
    text: str
    # True when the text ends inside a comment or docstring that cleaning removed: a cursor
    # there gets no completion rather than code completed into the middle of prose.
    cursor_in_removed: bool = False


class CleaningError(ValueError):
    """The file cannot be cleaned (e.g. Python that does not tokenize)."""


def clean(text, ext=".py", options=None, partial=False):
    """Turn raw source into what the model sees.

    partial=True means `text` is a buffer cut at the cursor (unfinished code is normal
    there): cleaning never fails and the last line keeps its trailing spaces.
    """
    opts = {**DEFAULT_CLEANING, **(options or {})}
    text = (text.replace(_REMOVED, "").replace("\r\n", "\n").replace("\r", "\n")
            .replace("\t", " " * opts["tab_size"]))
    if ext in PYTHON_EXTS:
        text, in_removed = _clean_python(text, opts, partial)
    elif ext in lexed.EXTENSIONS:
        spans, in_removed = lexed.comment_spans(text, ext, partial) if opts["strip_comments"] else ([], False)
        text = _apply_removals(text, spans)
    else:
        text, in_removed = _clean_other(text, opts, EXT_COMMENTS.get(ext))
    return Cleaned(_tidy_lines(text, opts["max_blank_lines"], partial), in_removed)


def _tidy_lines(text, max_blank, partial):
    """Strip trailing spaces and collapse runs of blank lines (keeping the cursor line as typed)."""
    lines = text.split("\n")
    last = lines.pop() if partial else None
    out, blanks = [], 0
    for line in lines:
        line = line.rstrip()
        blanks = blanks + 1 if not line else 0
        if blanks <= max_blank:
            out.append(line)
    if partial:
        out.append(last)
        return "\n".join(out)
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out) + "\n" if out else ""


# -- Python: exact, with the tokenize module -------------------------------------------------

_LITERAL_NAMES = {"True", "False", "None"}
_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
_BRACKET_DEPTH = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
MAX_RESTARTS = 100  # readings of one window by _tokenize (each starts at least a line further on)


def _clean_python(text, opts, partial):
    in_removed = False
    tokens, err = _tokenize(text, scaffold=partial)
    if isinstance(err, tokenize.TokenError):
        if not partial:
            raise CleaningError(f"tokenize: {err.args[0]}")
        # Unfinished code at the cursor. An open triple-quoted string in statement position
        # is a docstring being typed; anything else (open brackets) is fine to complete.
        if "string" in err.args[0]:
            cut = _after_cut_string(text, tokens)
            if cut is not None:  # a window cut inside a string: what follows its end, read as code
                text, tokens = cut
            else:
                prev = _last_significant(tokens)
                if opts["strip_docstrings"] and (prev is None or prev.type in _STATEMENT_START):
                    in_removed = True
    elif err is not None and not partial:
        raise CleaningError(f"tokenize: {err}")

    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def pos(rc):
        return offsets[rc[0] - 1] + rc[1]

    removals = []  # (start, end) character spans to delete

    # An unterminated '...' or "..." (typed at the cursor) makes tokenize go on reading the rest
    # of the line as code; it is string content, so nothing after the quote is a comment.
    open_quotes = [t.start for t in tokens if t.type == tokenize.ERRORTOKEN and t.string in ("'", '"')]
    if open_quotes:
        tokens = [t for t in tokens if not (t.type == tokenize.COMMENT and any(
            t.start[0] == row and t.start[1] > col for row, col in open_quotes))]

    if partial and tokens and not in_removed:
        # tokenize may have read to the end: is the cursor inside a trailing comment?
        last_comment = [t for t in tokens if t.type == tokenize.COMMENT and pos(t.end) == len(text)]
        if opts["strip_comments"] and last_comment:
            in_removed = True
        elif opts["strip_comments"] and "\n" not in text[_row_start(text):] and _unfinished_comment(text):
            in_removed = True

    prev_sig = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT and opts["strip_comments"]:
            removals.append((pos(tok.start), pos(tok.end)))
        elif (tok.type == tokenize.STRING and opts["strip_docstrings"]
              and (prev_sig is None or prev_sig.type in _STATEMENT_START)
              and _next_significant_type(tokens, i) in (tokenize.NEWLINE, tokenize.ENDMARKER, None)):
            removals.append((pos(tok.start), pos(tok.end)))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev_sig = tok
    if opts["max_literal_lines"]:
        removals += _big_literals(tokens, pos, opts["max_literal_lines"])
    return _apply_removals(text, removals), in_removed


def _indent_scaffold(text):
    """Lines to put before a buffer cut from the middle of a file (a request's window) so that it
    tokenizes: the window may start indented and later dedent to a level it never opened, which
    tokenize refuses. A chain of `if 1:` opens every level below the first line's."""
    lines = text.split("\n")
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    indent = len(first) - len(first.lstrip(" "))
    if not indent:
        return ""
    levels = sorted({len(line) - len(line.lstrip(" ")) for line in lines if line.strip()} | {0})
    return "".join(" " * level + "if 1:\n" for level in levels if level < indent)


def _tokenize(text, scaffold=False):
    """(tokens in the text's own rows, the error that stopped tokenize or None); scaffold: read a
    partial buffer (a window cut from a file, mid-line or inside a bracket) under
    _indent_scaffold's lines, and read on from a new line, under a scaffold of its own, where it
    closes a bracket it never opened (tokenize would read the code after it as inside brackets,
    and the call arguments' strings as docstrings) or dedents to a level it never opened (tokenize
    stops there, and the comments and docstrings after it would reach the model)."""
    if not scaffold:
        return _tokenize_once(text, False)[:2]
    tokens, row = [], 0  # row: where the reading starts, in the text's rows (0-based)
    lines = text.split("\n")
    for _ in range(MAX_RESTARTS):
        part, err, closer = _tokenize_once("\n".join(lines[row:]) if row else text, True, row)
        if closer is not None and closer.end[0] < len(lines):
            tokens += [t for t in part if t.start[0] <= closer.end[0]]
            row = closer.end[0]  # the line after it
            continue
        tokens += part
        if not (isinstance(err, IndentationError) and err.lineno and err.lineno > row + 1):
            return tokens, err
        row = err.lineno - 1  # the line tokenize refused
    return tokens, err


def _tokenize_once(text, scaffold, row=0):
    """One reading (under a scaffold if asked): its tokens, the error that stopped it and, when
    scaffolded, the first bracket that closes one opened before the text (the reading then ends
    with that bracket's line unless it is the last), in the rows of a text of which `text` is
    the part from `row` on."""
    prefix = _indent_scaffold(text) if scaffold else ""
    k, n_lines = prefix.count("\n"), text.count("\n") + 1
    tokens, err, closer, depth = [], None, None, 0  # closer: its index in tokens
    try:
        for tok in tokenize.generate_tokens(io.StringIO(prefix + text).readline):
            if closer is not None and tok.start[0] > tokens[closer].end[0] and tokens[closer].end[0] - k < n_lines:
                break  # the caller reads on from the next line anyway
            if tok.start[0] > k:
                tokens.append(tok)
                if scaffold and closer is None and tok.type == tokenize.OP and tok.string in _BRACKET_DEPTH:
                    depth += _BRACKET_DEPTH[tok.string]
                    closer = len(tokens) - 1 if depth < 0 else None
    except (tokenize.TokenError, IndentationError, SyntaxError) as e:
        err = e
        if isinstance(e, SyntaxError) and e.lineno:
            e.lineno += row - k
    shift = row - k
    if shift:  # (tuple.__new__: namedtuple's own constructor costs a call more per token)
        tokens = [tuple.__new__(tokenize.TokenInfo, (t[0], t[1], (t[2][0] + shift, t[2][1]), (t[3][0] + shift, t[3][1]),
                                                     t[4])) for t in tokens]
    return tokens, err, None if closer is None else tokens[closer]


def _prose_pairs(tokens):
    """Names side by side that no code would write (`can be`, `the file`): prose read as code."""
    name = [t.type == tokenize.NAME and not keyword.iskeyword(t.string) and not keyword.issoftkeyword(t.string)
            for t in tokens]
    return sum(1 for i in range(len(tokens) - 1)
               if name[i] and name[i + 1] and tokens[i].end[0] == tokens[i + 1].start[0])


def _after_cut_string(text, tokens):
    """(the buffer after its first closing triple quote, its tokens) when the buffer (a window
    cut from a file) starts inside a string; else None. Read from its start, such a buffer pairs each
    docstring's closing quote with the next one's opening, so the code between them reads as
    string, the docstrings' prose as code, and the cursor ends inside a string. Of the two
    readings (`tokens`, ending in an open string; or a string from the start to the first
    triple quote), the one with fewer names side by side is code read as code."""
    best, best_pairs = None, _prose_pairs(tokens)
    for quote in ('"""', "'''"):
        first = text.find(quote)
        if first < 0:
            continue
        rest = text[first + 3:]
        rest_tokens, err = _tokenize(rest, scaffold=True)
        if err is not None and (not isinstance(err, tokenize.TokenError) or "string" in err.args[0]):
            continue  # no better: this reading ends inside a string too, or does not tokenize
        pairs = _prose_pairs(rest_tokens)
        if pairs < best_pairs:
            best, best_pairs = (rest, rest_tokens), pairs
    return best


def _row_start(text):
    return text.rfind("\n") + 1


def _unfinished_comment(text):
    """Does the last line hold a '#' outside any string? (tokenize stopped before it.)"""
    quote = None
    line = text[_row_start(text):]
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif line.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif ch == "#":
            return True
        elif ch in "'\"":
            quote = line[i:i + 3] if line[i:i + 3] in ("'''", '"""') else ch
            i += len(quote) - 1
        i += 1
    return False


def _last_significant(tokens):
    for tok in reversed(tokens):
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            return tok
    return None


def _next_significant_type(tokens, i):
    for tok in tokens[i + 1:]:
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            return tok.type
    return None


def _big_literals(tokens, pos, max_lines):
    """Spans of whole statements that are a huge literal (data tables, not code)."""
    spans = []
    stmt_start, depth, open_tok, literal_only = None, 0, None, True
    for tok in tokens:
        if stmt_start is None and tok.type not in _STATEMENT_START | {tokenize.NL, tokenize.COMMENT}:
            stmt_start, literal_only = tok, True
        if tok.type == tokenize.OP and tok.string in "([{":
            if depth == 0:
                open_tok, literal_only = tok, True
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
            if depth == 0 and open_tok is not None:
                if literal_only and tok.end[0] - open_tok.start[0] + 1 > max_lines:
                    spans.append((pos((stmt_start.start[0], 0)), None))  # end filled at NEWLINE
                open_tok = None
        elif depth > 0 and not (tok.type in (tokenize.STRING, tokenize.NUMBER, tokenize.NL, tokenize.COMMENT)
                                or (tok.type == tokenize.OP and tok.string in ",:-+.()[]{}")
                                or (tok.type == tokenize.NAME and tok.string in _LITERAL_NAMES)):
            literal_only = False
        if tok.type == tokenize.NEWLINE:
            if spans and spans[-1][1] is None:
                spans[-1] = (spans[-1][0], pos(tok.end))
            stmt_start = None
    return [s for s in spans if s[1] is not None]


def _apply_removals(text, removals):
    """Cut the spans out; a line left holding only whitespace was a comment or docstring line
    and goes entirely (a line that was blank to begin with stays blank)."""
    if not removals:
        return text
    out, last = [], 0
    for start, end in sorted(removals):
        start = max(start, last)  # nested in an earlier removal (a comment in a dropped literal)
        if end <= start:
            continue
        out += [text[last:start], _REMOVED]
        last = end
    out.append(text[last:])
    return _drop_emptied_lines("".join(out))


_REMOVED = "\x00"  # marks where something was cut; NUL never survives into the result


def _drop_emptied_lines(text):
    return "\n".join(line.replace(_REMOVED, "") for line in text.split("\n")
                     if _REMOVED not in line or line.replace(_REMOVED, "").strip())


# -- Project files: fast and nearly exact -------------------------------------------------

# One pass of the regex engine over a whole file: the strings (kept, or dropped when they stand
# alone as a statement: docstrings) and the comments (dropped). Not exact (clean() is), but fast
# enough for the project's other files, which only feed the hints and arrive by the hundred KB.
_PY_LEXEMES = re.compile(r'''(?P<triple>[rRbBuUfF]{0,2}(?:"""(?:\\[\s\S]|[^\\])*?"""|\'\'\'(?:\\[\s\S]|[^\\])*?\'\'\'))'''
                         r'''|(?P<string>[rRbBuUfF]{0,2}(?:"(?:\\[\s\S]|[^"\\\n])*"|'(?:\\[\s\S]|[^'\\\n])*'))'''
                         r'''|(?P<comment>\#[^\n]*)''')


def quick_clean(text, ext=".py", options=None):
    """clean() for hints: the same normalisation, comments and docstrings dropped by a regular
    expression instead of the tokenizer (a few ms for 256 KB, against a few hundred)."""
    opts = {**DEFAULT_CLEANING, **(options or {})}
    if ext not in PYTHON_EXTS:
        return clean(text, ext, options).text
    text = (text.replace(_REMOVED, "").replace("\r\n", "\n").replace("\r", "\n")
            .replace("\t", " " * opts["tab_size"]))

    def drop(m):
        if m.group("comment") is not None:
            return _REMOVED if opts["strip_comments"] else m.group()
        if m.group("triple") is not None and opts["strip_docstrings"]:
            line_start = text.rfind("\n", 0, m.start()) + 1
            if not text[line_start:m.start()].strip():  # a string standing alone: a docstring
                return _REMOVED
        return m.group()

    return _tidy_lines(_drop_emptied_lines(_PY_LEXEMES.sub(drop, text)), opts["max_blank_lines"], False)


# -- The table's other languages: best effort ---------------------------------------------

def _clean_other(text, opts, style):
    """Strip comments with a small state machine that skips "..." and '...' strings.

    Best effort: it does not know raw strings, heredocs, regex literals or nested comments.
    """
    if not opts["strip_comments"] or style is None:
        return text, False
    line_markers, block_pairs = COMMENT_SYNTAX[style]
    out, i, n, quote, in_removed = [], 0, len(text), None, False
    while i < n:
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == quote or ch == "\n":
                quote = None
            i += 1
            continue
        block = next((p for p in block_pairs if text.startswith(p[0], i)), None)
        if block:
            end = text.find(block[1], i + len(block[0]))
            if end < 0:
                in_removed = True
                break
            i = end + len(block[1])
            out.append(_REMOVED)
            continue
        if any(text.startswith(m, i) for m in line_markers):
            end = text.find("\n", i)
            if end < 0:
                in_removed = True
                break
            i = end
            out.append(_REMOVED)
            continue
        if ch in "\"'`":
            quote = ch
        out.append(ch)
        i += 1
    return _drop_emptied_lines("".join(out)), in_removed

