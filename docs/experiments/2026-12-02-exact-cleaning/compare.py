"""tree-sitter's grammars against Pygments' lexers for finding the comments that clean() removes in
C, JavaScript, TypeScript and Lua: hand-made cases, whole real files (where the two disagree), request
windows read as they are (no repair at either end), and the time to read a 4000-character window.

    PYTHONPATH=. .venv/bin/python docs/experiments/2026-12-02-exact-cleaning/compare.py \
        --root DIR --files 300 --windows 300 --json   # DIR/{c,javascript,lua,typescript}/...

The same removal and tidying (model.text.clean) is applied to the spans either finds.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from pygments.lexers import CLexer, JavascriptLexer, LuaLexer, TypeScriptLexer
from pygments.token import Comment

from model.measure.cleancheck import directory_files, request_window
from model.text import lexed
from model.text.clean import DEFAULT_CLEANING, _apply_removals, _tidy_lines, clean

PYGMENTS = {".c": CLexer, ".h": CLexer, ".js": JavascriptLexer, ".ts": TypeScriptLexer, ".lua": LuaLexer}
KEPT = (Comment.Preproc, Comment.PreprocFile, Comment.Hashbang)  # Pygments' "comments" that are code

# (extension, source, what the whole file must clean to)
CASES = [
    (".c", 'int x; // note\n/* block\n comment */\nchar *s = "// not /* nor */";\nchar c = \'/\', d = \'*\';\n',
     'int x;\nchar *s = "// not /* nor */";\nchar c = \'/\', d = \'*\';\n'),
    (".c", ("#define MAX(a, b) \\\n  ((a) > (b) ? (a) : (b)) /* larger */\n#include <sys/types.h> // types\n"
            "#if 0 /* off */\nint y;\n#endif\n"),
     "#define MAX(a, b) \\\n  ((a) > (b) ? (a) : (b))\n#include <sys/types.h>\n#if 0\nint y;\n#endif\n"),
    (".c", "int a; // a comment \\\n   continued\nint b;\n", "int a;\nint b;\n"),
    (".c", 'char *s = "a \\" // b"; // c\n', 'char *s = "a \\" // b";\n'),
    (".c", "x = a //* c */ b;\ny = 1;\n", "x = a\ny = 1;\n"),
    (".js", "const t = `a ${ `b ${c /* in */}` } // not`; // yes\n", "const t = `a ${ `b ${c }` } // not`;\n"),
    (".js", "const r = /\\/\\*x/g; // c\nconst s = a / b / c; // d\nif (x) /re\\/\\//.test(y);\n",
     "const r = /\\/\\*x/g;\nconst s = a / b / c;\nif (x) /re\\/\\//.test(y);\n"),
    (".js", "/**\n * Doc.\n * @param {string} x\n */\nfunction f(x) { return \"/* no */\" + '// no'; }\n",
     "function f(x) { return \"/* no */\" + '// no'; }\n"),
    (".js", "const r = /[/]\\/\\//; // c\nconst u = `http://x`;\n", "const r = /[/]\\/\\//;\nconst u = `http://x`;\n"),
    (".ts", "let x: Array<number> = [1]; // c\n/** doc */ function f<T>(a: T): T { return a; }\n",
     "let x: Array<number> = [1];\nfunction f<T>(a: T): T { return a; }\n"),
    (".ts", "const u = `http://${host}/*`; // url\ntype P = `/${string}`;\n",
     "const u = `http://${host}/*`;\ntype P = `/${string}`;\n"),
    (".lua", "local s = [==[ ]] -- ]==] --[=[ long\ncomment ]] ]=]\nlocal x = 1 -- line\n--[[ c ]] local y = [[a]]\n",
     "local s = [==[ ]] -- ]==]\nlocal x = 1\nlocal y = [[a]]\n"),
    (".lua", "print(\"-- not\", '--[[ not ]]') -- yes\n", "print(\"-- not\", '--[[ not ]]')\n"),
    (".lua", '--[[\nprint("commented out")\n--]]\nprint("on")\n', 'print("on")\n'),
    (".lua", "local s = [=[ a ]] b ]=] -- c\nlocal t = a[b[1]] -- d\n", "local s = [=[ a ]] b ]=]\nlocal t = a[b[1]]\n"),
]


def pygments_spans(text, ext):
    spans = []
    lexer = PYGMENTS[ext](stripnl=False, ensurenl=False)
    for offset, kind, value in lexer.get_tokens_unprocessed(text):
        if kind in Comment and not any(kind in k for k in KEPT):
            end = offset + len(value.rstrip("\n"))  # (Pygments' line comments take their newline)
            if spans and spans[-1][1] == offset:
                spans[-1] = (spans[-1][0], end)
            elif end > offset:
                spans.append((offset, end))
    return spans


def treesitter_spans(text, ext):
    return lexed.comments(text, ext)


def cleaned_with(spans_of, text, ext):
    """clean() of a whole file, with the comment spans found by spans_of."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    spans = []
    for a, b in spans_of(text, ext):  # a comment that starts its line takes the spaces after it
        if not text[text.rfind("\n", 0, a) + 1:a].strip(" "):
            while b < len(text) and text[b] == " ":
                b += 1
        spans.append((a, b))
    return _tidy_lines(_apply_removals(text, spans), DEFAULT_CLEANING["max_blank_lines"], False)


def cases():
    out = {}
    for name, spans_of in (("tree-sitter", treesitter_spans), ("pygments", pygments_spans)):
        wrong = [i for i, (ext, src, want) in enumerate(CASES) if cleaned_with(spans_of, src, ext) != want]
        out[name] = {"right": len(CASES) - len(wrong), "of": len(CASES), "wrong": wrong}
    return out


def whole_files(files):
    """How many files the two clean alike; the first lines where they differ, for reading by hand."""
    same, differ = 0, []
    for name, raw, _ in files:
        ext = os.path.splitext(name)[1]
        a, b = cleaned_with(treesitter_spans, raw, ext), cleaned_with(pygments_spans, raw, ext)
        if a == b:
            same += 1
            continue
        la, lb = a.split("\n"), b.split("\n")
        i = next(k for k in range(max(len(la), len(lb))) if k >= len(la) or k >= len(lb) or la[k] != lb[k])
        differ.append({"file": name, "tree-sitter": la[i:i + 2], "pygments": lb[i:i + 2]})
    return same, differ


def windows(files, n, seed):
    """Request windows (the last 4000 characters before a seeded position past the first 4000) read as
    they are by each lexer: does the window less its first line clean like the whole file's tail?
    And each one's time to find the comments of a window (warm, p50/p95 ms)."""
    rng = np.random.default_rng(seed)
    long = [f for f in files if len(f[1]) > 5000]
    picks = [(long[i], int(rng.integers(4000, len(long[i][1])))) for i in rng.integers(0, len(long), n)] if long else []
    out = {}
    for name, spans_of in (("tree-sitter", treesitter_spans), ("pygments", pygments_spans)):
        match, ms = 0, []
        for (fname, raw, _), pos in picks:
            ext = os.path.splitext(fname)[1]
            window = request_window(raw, pos)
            seen = cleaned_with(spans_of, window + "\n", ext)
            seen = seen[seen.find("\n") + 1:]
            whole = cleaned_with(spans_of, raw[:pos] + "\n", ext)
            match += whole.endswith(seen)
            spans_of(window, ext)
            t = time.perf_counter()
            spans_of(window, ext)
            ms.append((time.perf_counter() - t) * 1000)
        out[name] = {"windows": len(picks), "as_is_matching": match,
                     "find_ms": {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2)}
                     if ms else None}
    clean_ms = []  # what a request pays with the chosen reader: clean(partial=True), repairs included
    for (fname, raw, _), pos in picks:
        window = request_window(raw, pos)
        t = time.perf_counter()
        clean(window, os.path.splitext(fname)[1], partial=True)
        clean_ms.append((time.perf_counter() - t) * 1000)
    out["clean_partial_ms"] = {"p50": round(float(np.percentile(clean_ms, 50)), 2),
                               "p95": round(float(np.percentile(clean_ms, 95)), 2)} if clean_ms else None
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="a directory with a subdirectory of files per language")
    p.add_argument("--files", type=int, default=300, help="files sampled per language")
    p.add_argument("--windows", type=int, default=300, help="windows per language")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = {"cases": cases(), "languages": {}}
    for language in ("c", "javascript", "typescript", "lua"):
        folder = os.path.join(args.root, language)
        if not os.path.isdir(folder):
            continue
        files = directory_files(folder, language, args.files, args.seed)
        same, differ = whole_files(files)
        result["languages"][language] = {"files": len(files), "whole_files_alike": same,
                                         "differ": differ[:8], "windows": windows(files, args.windows, args.seed)}
        print(f"{language}: done", file=sys.stderr)
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
