"""Where the comments are in C, JavaScript, TypeScript and Lua: the comment nodes of tree-sitter's
grammars (PyPI's `tree-sitter` and one grammar package per language), so strings, char literals,
template literals, regex literals, preprocessor lines and Lua's long brackets are read as the
language reads them. clean() removes the spans found here.

A request's buffer (partial=True) is cut at both ends. Its first line may be cut mid-token: it is
read on its own, the rest as if it were blank. The buffer may start inside a block comment or a Lua
long bracket whose opening it cannot see: the first closer says so (`*/` or `]=]` outside any
literal, `--]]`, `]]` that no two brackets opened on its line), and what comes before it is removed
(a comment) or kept (a long string). It ends at the cursor, perhaps inside a comment (the cursor is
then in what cleaning removes), or inside a string or template literal being typed (what follows
its opening is its text). A buffer that starts inside a template literal is read as it is: rare
(3 of 700 JavaScript windows), and telling it from one that ends inside a template is not.
"""
import functools
import importlib
import re
from collections import namedtuple

import tree_sitter

EXTENSIONS = {".c": "c", ".h": "c", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
              ".ts": "typescript", ".lua": "lua"}
# grammar -> (module, its language function, the node types that are comments)
GRAMMARS = {
    "c": ("tree_sitter_c", "language", ("comment",)),
    "javascript": ("tree_sitter_javascript", "language", ("comment", "html_comment")),
    "typescript": ("tree_sitter_typescript", "language_typescript", ("comment", "html_comment")),
    "lua": ("tree_sitter_lua", "language", ("comment",)),
}
Grammar = namedtuple("Grammar", "name language comments open_ticks strings macro_args")
# Nodes whose text is not code (a `*/` or `/*` there is no comment's end or start), and the node
# inside a template literal that is code again.
LITERALS = {"comment", "html_comment", "string", "string_literal", "char_literal", "system_lib_string",
            "template_string", "regex"}
SUBSTITUTION = "template_substitution"
# The text of a string or regex the parser could not close: at the cursor, one being typed.
OPEN_LITERAL_TEXT = {"string_content", "string_fragment", "character", "regex_pattern"}
LONG_OPEN = re.compile(rb"\[(=*)\[")
LONG_CLOSE = re.compile(rb"\](=*)\]")
# What follows a Lua long bracket's end when it was a string (an argument, a table field, `..`);
# after a long comment comes a new line.
AFTER_STRING = re.compile(rb"[ ]*[,;).}\]]")
MAX_RESTARTS = 20  # readings of one buffer by _comments_from (each starts at least a line further on)
BLANK = bytes(b if b == 10 else 32 for b in range(256))  # every byte but a newline -> a space


@functools.cache
def grammar(name):
    """The language and its queries: comment nodes, backticks the parser could not pair (JavaScript
    and TypeScript), the text of strings (Lua), what follows a directive's name (C)."""
    module, function, comment_types = GRAMMARS[name]
    language = tree_sitter.Language(getattr(importlib.import_module(module), function)())
    return Grammar(name, language, tree_sitter.Query(language, " ".join(f"({t}) @c" for t in comment_types)),
                   tree_sitter.Query(language, '(ERROR "`" @b)') if name in ("javascript", "typescript") else None,
                   tree_sitter.Query(language, "(string_content) @s") if name == "lua" else None,
                   tree_sitter.Query(language, "(preproc_arg) @a") if name == "c" else None)


def comments(text, ext):
    """[(start, end)] character spans of a whole text's comments, as the grammar reads them."""
    data = text.encode("utf-8")
    g = grammar(EXTENSIONS[ext])
    return _to_chars(text, data, _comments_from(tree_sitter.Parser(g.language), g, data, 0)[0])


def comment_spans(text, ext, partial=False):
    """([(start, end)] character spans of `text` to remove, whether the text ends inside one)."""
    data = text.encode("utf-8")
    spans, in_removed = _byte_spans(data, grammar(EXTENSIONS[ext]), partial)
    return _to_chars(text, data, [_with_spaces_after(data, a, b) for a, b in spans]), in_removed


def _byte_spans(data, g, partial):
    parser = tree_sitter.Parser(g.language)
    if not partial:
        return _comments_from(parser, g, data, 0)[0], False
    start, before, tree = _start(data, g, parser)
    if start is None:  # the buffer ends inside a comment or long string its first line opens
        return before, bool(before) and before[-1][1] == len(data)
    tree = tree or _parse(parser, data, start)
    if _open_at_end(data, g, tree, start) is None:  # (what ends open needs no second reading)
        spans, start, tree = _comments_from(parser, g, data, start, tree)
    else:
        spans = _comment_nodes(g, tree)
    return _cut_end(data, g, tree, start, before + spans)


def _parse(parser, data, start, scaffold=b""):
    """The tree of data read from `start` on (what comes before is blank, so offsets stay data's),
    after `scaffold` if there is room for it there or in the first line's indentation."""
    rest = data[start:]
    room = start + len(rest) - len(rest.lstrip(b" "))
    if len(scaffold) > room:
        scaffold = b""
    return parser.parse(data[:room - len(scaffold)].translate(BLANK) + scaffold + data[room:])


def _captured(query, tree):
    return [n for nodes in tree_sitter.QueryCursor(query).captures(tree.root_node).values() for n in nodes]


def _comment_nodes(g, tree):
    """The comments' spans, less those inside a string (Lua's scanner finds `--[[ ]]` at the start
    of '--[[ ]]'), with those inside a C directive's argument (`#define N 4 // why`: the grammar
    reads the line to its end as one token), found by reading the argument as C."""
    spans = [(n.start_byte, n.end_byte) for n in _captured(g.comments, tree)
             if n.parent is None or n.parent.type not in LITERALS]
    if g.macro_args is not None:
        for arg in _captured(g.macro_args, tree):
            if b"//" in arg.text:
                inside = _comment_nodes(g, tree_sitter.Parser(g.language).parse(arg.text))
                spans += [(arg.start_byte + a, arg.start_byte + b) for a, b in inside]
    return sorted(spans)


def _start(data, g, parser):
    """Where a buffer cut from a file starts to be read as code: (that offset, or None when the
    buffer ends first; the spans before it to remove; the tree read from there, when read)."""
    head_end, head_spans = data.find(b"\n") + 1, []
    if head_end:
        head = data[:head_end]
        head_tree = parser.parse(head)
        cut = _closer_cut(head, g, head_tree, 0)
        if cut is not None:
            return cut[0], [(0, cut[0])] if cut[1] else [], None
        opened = _open_at_end(head, g, head_tree, 0, ticks=False)
        if opened is not None:  # it runs to its closer, wherever in the buffer that is
            at, is_comment, closer = opened
            end = data.find(closer, head_end)
            end = end + len(closer) if end >= 0 else None
            if at == 0 and end is not None and g.name == "lua":  # (what came before it was cut off)
                is_comment = not AFTER_STRING.match(data, end)
            before = [s for s in _comment_nodes(g, head_tree) if s[0] < at]
            return end, before + [(at, end or len(data))] * is_comment, None
        head_spans = _comment_nodes(g, head_tree)
    tree = _parse(parser, data, head_end)
    cut = _closer_cut(data, g, tree, head_end)
    if cut is not None:
        return cut[0], [(0, cut[0])] if cut[1] else [], None
    return head_end, head_spans, tree


def _closer_cut(data, g, tree, start):
    """(where the code starts, is what comes before a comment) when data read from `start` is inside
    a block comment or long bracket there, else None."""
    if g.name == "lua":
        return _lua_cut(data, tree, start)
    at = data.find(b"*/", start)
    if at < 0 or data.rfind(b"/*", start, at) >= 0:
        return None
    # `*/` outside any literal: no code writes it. (Inside a template literal that goes on past its
    # line or never ends, it ends a comment whose prose quotes code between backticks.)
    literal = _literal(tree, at, 2, False)
    if literal is None or literal.type == "template_string" and (literal.has_error or b"\n" in data[at:literal.end_byte]):
        return at + 2, True
    return None


def _lua_cut(data, tree, start):
    """_closer_cut for Lua. The first closer says the buffer starts inside a long bracket: `]=]`
    outside any literal (no code writes it), `--]]` (the end of `--[[`, commented to let `---[[`
    turn it off), or `]]` that no two brackets opened on its line (t[k[1]] is code). A long string
    ends in an argument, a table field or `..`, a long comment with its line."""
    closer = LONG_CLOSE.search(data, start)
    if closer is None or LONG_OPEN.search(data, start, closer.start()):
        return None
    at, end = closer.span()
    if _literal(tree, at, end - at, False) is not None:
        return (end, True) if data[at - 2:at] == b"--" else None
    if not closer.group(1) and _bracket_depth(tree, max(data.rfind(b"\n", 0, at) + 1, start), at) >= 2:
        return None
    return end, not AFTER_STRING.match(data, end)


def _bracket_depth(tree, start, end):
    """How many `[` the tokens in [start, end) leave open."""
    depth, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.end_byte <= start or node.start_byte >= end:
            continue
        if node.child_count:
            stack.extend(reversed(node.children))
        elif node.type == "[":
            depth += 1
        elif node.type == "]":
            depth = max(depth - 1, 0)
    return depth


def _comments_from(parser, g, data, start, tree=None):
    """(the comment spans of data from `start` on, where its last reading starts, that reading's
    tree). Recovering from an error (a buffer cut mid-block or mid-table), Lua's string scanner may
    read code as a string's text across lines, and the comments there as text: the reading is then
    tried as inside a table constructor, and starts again on the line after that text begins."""
    spans = []
    for _ in range(MAX_RESTARTS):
        tree = tree or _parse(parser, data, start)
        bogus = _bogus_string(g, tree, data)
        if bogus is not None:
            in_table = _parse(parser, data, start, b"f{")  # (a call with a table: `f{...}`)
            later = _bogus_string(g, in_table, data)
            if later is None or later > bogus:
                tree, bogus = in_table, later
        if bogus is None:
            break
        line = data.find(b"\n", bogus) + 1
        spans += [s for s in _comment_nodes(g, tree) if s[1] <= line]
        start, tree = line, None
    tree = tree or _parse(parser, data, start)
    return spans + _comment_nodes(g, tree), start, tree


def _bogus_string(g, tree, data):
    """Where the first string text goes on past a line's end though no long bracket opens it (Lua:
    short strings end with their line), or None."""
    if g.strings is None:
        return None
    return min((n.start_byte for n in _captured(g.strings, tree) if data[n.start_byte - 1:n.start_byte] != b"["
                and re.search(rb"(?<![\\z])\n", data[n.start_byte:n.end_byte])), default=None)


def _literal(tree, at, length, open_counts):
    """The comment, string, regex or template node whose text holds data[at:at+length], or None.
    open_counts: also the text of one the parser could not close."""
    node = tree.root_node.descendant_for_byte_range(at, at + length)
    while node is not None:
        if node.type == SUBSTITUTION:
            return None
        if node.type in LITERALS:
            return node
        if node.type in OPEN_LITERAL_TEXT and node.parent is not None and node.parent.type == "ERROR":
            return node if open_counts else None
        node = node.parent
    return None


def _cut_end(data, g, tree, start, spans):
    """The spans and whether the cursor is in what cleaning removes, for a buffer that ends at the
    cursor (read from `start` on as `tree`)."""
    opened = _open_at_end(data, g, tree, start)
    if opened is not None:
        at, is_comment, _ = opened
        spans = [s for s in spans if s[0] < at]
        return (spans + [(at, len(data))], True) if is_comment else (spans, False)
    if spans and spans[-1][1] == len(data):
        last = data[spans[-1][0]:]
        return spans, not (last.startswith(b"/*") or re.match(rb"--\[=*\[", last))
    return spans, False


def _open_at_end(data, g, tree, start, ticks=True):
    """(where it opens, is it a comment, its closer) for a block comment, long bracket or (ticks)
    template literal that data, read from `start` on, ends inside; None when there is none."""
    if g.name == "lua":
        for m in LONG_OPEN.finditer(data, start):
            closer = b"]" + m.group(1) + b"]"
            if data.find(closer, m.end()) < 0 and _literal(tree, m.start(), m.end() - m.start(), True) is None:
                dashes = len(re.search(rb"-{0,2}\Z", data[:m.start()]).group())
                # (`-[[` at the buffer's start: a `--[[` cut between its dashes)
                comment = dashes == 2 or dashes == m.start() == 1
                return m.start() - dashes * comment, comment, closer
        return None
    opened = []  # the first of them opens what the rest is inside
    if ticks and g.open_ticks is not None:
        opened = [(n.start_byte, False, b"`") for n in _captured(g.open_ticks, tree)][-1:]
    closed = data.rfind(b"*/", start)
    at = data.find(b"/*", closed + 2 if closed >= 0 else start)
    while at >= 0:
        literal = _literal(tree, at, 2, True)
        # (no regex starts with `*`: one the parser begins at this `/` is the comment misread)
        if literal is None or literal.type.startswith("regex") and literal.start_byte in (at, at + 1):
            opened.append((at, True, b"*/"))
            break
        at = data.find(b"/*", at + 2)
    return min(opened, default=None)


def _with_spaces_after(data, a, b):
    """A comment that starts its line takes the spaces after it (`/* x */ int y;` -> `int y;`)."""
    line_start = data.rfind(b"\n", 0, a) + 1
    if data[line_start:a].strip(b" "):
        return a, b
    while b < len(data) and data[b] == 0x20:
        b += 1
    return a, b


def _to_chars(text, data, spans):
    """Byte offsets -> character offsets (the same for ASCII text)."""
    if len(data) == len(text):
        return spans
    offsets = sorted({o for span in spans for o in span})
    chars, done_bytes, done_chars = {}, 0, 0
    for o in offsets:
        done_chars += len(data[done_bytes:o].decode("utf-8"))
        chars[o], done_bytes = done_chars, o
    return [(chars[a], chars[b]) for a, b in spans]
