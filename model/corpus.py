"""Gather source files and clean them into a corpus dir: train.txt, val.txt, test.txt, manifest.json.

    python -m model.corpus --out data/stdlib --stdlib
    python -m model.corpus --out data/mix --stdlib --package numpy --package pandas
    python -m model.corpus --out data/c --ext .c --ext .h '/usr/include/**/*.h'

`clean()` is THE cleaning function: the corpus builder runs it on every file and the
Completer runs it on every request, so training and serving never disagree.
"""
import argparse
import glob
import hashlib
import importlib.util
import io
import json
import os
import re
import sys
import sysconfig
import time
import tokenize
from dataclasses import dataclass

# Each file in a split starts with this character, so the model learns what the top of a
# file looks like; the Completer puts it in front of a buffer it sees from the start.
FILE_START = "\x1c"

DEFAULT_CLEANING = {
    "strip_comments": True,
    "strip_docstrings": True,
    "max_literal_lines": 100,  # drop a dict/list/tuple literal spanning more lines than this
    "tab_size": 4,
    "max_blank_lines": 2,
}

PYTHON_EXTS = {".py", ".pyw", ".pyi"}
# Best-effort comment syntax for other languages: (line comment markers, block comment pairs).
COMMENT_SYNTAX = {
    "c": (["//"], [("/*", "*/")]),
    "hash": (["#"], []),
    "lua": (["--"], [("--[[", "]]")]),
    "sql": (["--"], [("/*", "*/")]),
}
EXT_COMMENTS = {
    **{e: "c" for e in ".c .h .cc .cpp .cxx .hpp .hh .java .js .mjs .cjs .ts .tsx .jsx .go .rs .cs "
       ".swift .kt .kts .scala .dart .php .css .scss".split()},
    **{e: "hash" for e in ".sh .bash .zsh .rb .pl .pm .r .yaml .yml .toml .cfg .conf .mk .cmake".split()},
    ".lua": "lua",
    ".sql": "sql",
}
LANGUAGE_NAMES = {".py": "python", ".pyw": "python", ".pyi": "python", ".c": "c", ".h": "c",
                  ".js": "javascript", ".ts": "typescript", ".lua": "lua", ".go": "go", ".rs": "rust",
                  ".java": "java", ".rb": "ruby", ".sh": "shell"}


def language_of(ext):
    return LANGUAGE_NAMES.get(ext, ext.lstrip("."))


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


def _clean_python(text, opts, partial):
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def pos(rc):
        return offsets[rc[0] - 1] + rc[1]

    removals = []  # (start, end) character spans to delete
    in_removed = False
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            tokens.append(tok)
    except tokenize.TokenError as err:
        if not partial:
            raise CleaningError(f"tokenize: {err.args[0]}") from None
        # Unfinished code at the cursor. An open triple-quoted string in statement position
        # is a docstring being typed; anything else (open brackets) is fine to complete.
        if "string" in err.args[0]:
            prev = _last_significant(tokens)
            if opts["strip_docstrings"] and (prev is None or prev.type in _STATEMENT_START):
                in_removed = True
    except (IndentationError, SyntaxError) as err:
        if not partial:
            raise CleaningError(f"tokenize: {err}") from None

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


# -- Other languages: best effort ----------------------------------------------------------

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


# -- Gathering files ---------------------------------------------------------------------

def stdlib_dir():
    return sysconfig.get_paths()["stdlib"]


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise SystemExit(f"error: package {name!r} is not installed in this interpreter")
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return spec.origin


def find_files(roots, exts, exclude=("site-packages", "__pycache__", "node_modules", ".git")):
    """Yield (path, relative name) for each file with one of `exts` under the given roots.

    roots: list of (label, path_or_glob). The relative name (label/relpath) is what the split
    hashes, so a corpus built on another machine splits the same way.
    """
    seen = set()
    for label, root in roots:
        if any(c in root for c in "*?["):
            matches = [(p, os.path.join(label, os.path.relpath(p, _glob_base(root))))
                       for p in sorted(glob.glob(root, recursive=True)) if os.path.isfile(p)]
        elif os.path.isfile(root):
            matches = [(root, os.path.join(label, os.path.basename(root)))]
        elif os.path.isdir(root):
            matches = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d not in exclude)
                for f in sorted(filenames):
                    p = os.path.join(dirpath, f)
                    matches.append((p, os.path.join(label, os.path.relpath(p, root))))
        else:
            raise SystemExit(f"error: no such file, directory or glob match: {root}")
        for path, rel in matches:
            if os.path.splitext(path)[1] in exts and os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                yield path, rel


def _glob_base(pattern):
    parts = pattern.split(os.sep)
    base = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        base.append(part)
    return os.sep.join(base) or "."


def read_source(path, ext, max_bytes):
    """Return the file's text, or a reason string for skipping it."""
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        return None, "too_large"
    if b"\x00" in data:
        return None, "binary"
    try:
        if ext in PYTHON_EXTS:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
        else:
            text = data.decode("utf-8")
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None, "undecodable"
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def split_of(rel, val_frac, test_frac):
    """Deterministic split by a hash of the file's relative name: a file never straddles splits."""
    h = int.from_bytes(hashlib.sha256(rel.encode()).digest()[:8], "big") / 2**64
    return "test" if h < test_frac else "val" if h < test_frac + val_frac else "train"


_GENERATED = re.compile(r"(?i)(generated by|auto-?generated|do not edit|generated automatically)")
_GENERATED_NAMES = re.compile(r"(_pb2(_grpc)?\.pyi?|\.min\.[a-z]+)$")


def generated_or_minified(path, text):
    """'generated' for machine-written files (a header saying so, protobuf stubs), 'minified' for
    files of a few enormous lines; None for code a person wrote."""
    if _GENERATED_NAMES.search(os.path.basename(path)):
        return "minified" if ".min." in os.path.basename(path) else "generated"
    if _GENERATED.search("\n".join(text.split("\n", 5)[:5])):
        return "generated"
    lines = text.count("\n") + 1
    if len(text) > 2000 and len(text) / lines > 300:
        return "minified"
    return None


def refused_by_name(rel, import_names):
    """True when a directory on the file's path is a refused package's import name (vendored
    copies included, e.g. pip/_vendor/rich/...)."""
    return bool(import_names) and any(part in import_names for part in rel.replace("\\", "/").split("/")[:-1])


def build_corpus(out, roots, exts=(".py",), val_frac=0.05, test_frac=0.05, cleaning=None,
                 max_file_bytes=1_000_000, progress=True, refuse_imports=(), max_package_chars=None,
                 packages=None):
    """Clean every file under `roots` into the corpus dir `out`.

    refuse_imports: import names whose files (and vendored copies) never enter the corpus.
    max_package_chars: at most this many cleaned characters from one fetched package (files
    in hash order), so no package dominates; other sources are taken whole. packages: the package records to keep in the manifest.
    """
    from tqdm import tqdm

    cleaning = {**DEFAULT_CLEANING, **(cleaning or {})}
    refuse_imports = set(refuse_imports)
    files = list(find_files(roots, set(exts)))
    counts = {"found": len(files), "kept": 0, "duplicate": 0, "binary": 0, "undecodable": 0,
              "untokenizable": 0, "empty": 0, "too_large": 0, "generated": 0, "minified": 0,
              "unseen_package": 0, "over_package_cap": 0}
    splits = {"train": [], "val": [], "test": []}
    seen_hashes = set()
    kept_by_root = {}
    for path, rel in tqdm(files, desc="cleaning", unit="file", disable=not progress, file=sys.stderr):
        ext = os.path.splitext(path)[1]
        if refused_by_name(rel, refuse_imports):
            counts["unseen_package"] += 1
            continue
        text, skip = read_source(path, ext, max_file_bytes)
        skip = skip or generated_or_minified(path, text)
        if skip:
            counts[skip] += 1
            continue
        try:
            cleaned = clean(text, ext, cleaning).text
        except CleaningError:
            counts["untokenizable"] += 1
            continue
        if not cleaned.strip():
            counts["empty"] += 1
            continue
        digest = hashlib.sha256(cleaned.encode()).hexdigest()
        if digest in seen_hashes:
            counts["duplicate"] += 1
            continue
        seen_hashes.add(digest)
        kept_by_root.setdefault(rel.split(os.sep)[0], []).append((digest, rel, cleaned))

    capped_labels = {r["label"] for r in packages or ()}
    for record in packages or ():
        if "refused" not in record:  # kept, though all its files may turn out duplicates
            record["files"], record["chars"] = 0, 0
    for label, docs in kept_by_root.items():
        if max_package_chars and label in capped_labels:
            # The cap takes files in hash order, so which files stay does not depend on the walk.
            docs.sort(key=lambda d: hashlib.sha256(d[1].encode()).digest())
            total, capped = 0, []
            for doc in docs:
                if total + len(doc[2]) > max_package_chars and capped:
                    counts["over_package_cap"] += 1
                    continue
                total += len(doc[2])
                capped.append(doc)
            docs = capped
        for doc in docs:
            counts["kept"] += 1
            splits[split_of(doc[1], val_frac, test_frac)].append(doc)
        for record in packages or ():
            if record["label"] == label:
                record["files"], record["chars"] = len(docs), sum(len(d[2]) for d in docs)

    os.makedirs(out, exist_ok=True)
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sources": [{"label": label, "path": path} for label, path in roots],
        "extensions": sorted(exts),
        "language": language_of(sorted(exts)[0]),
        "cleaning": cleaning,
        "file_start": FILE_START,
        "val_fraction": val_frac,
        "test_fraction": test_frac,
        "files": counts,
        "refused_imports": sorted(refuse_imports),
        "max_package_chars": max_package_chars,
        "packages": packages or [],
        "splits": {},
    }
    for name, docs in splits.items():
        # Order by content hash: deterministic, and unrelated files sit next to each other.
        docs.sort()
        text = "".join(FILE_START + cleaned for _, _, cleaned in docs)
        with open(os.path.join(out, f"{name}.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        manifest["splits"][name] = {
            "files": len(docs),
            "chars": len(text),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "paths": [rel for _, rel, _ in docs] if name != "train" else None,
        }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def package_roots(list_paths, cache, unseen, progress=True):
    """Fetch and unpack the pinned packages of each list; returns (roots, records).

    A package is refused (recorded with its reason, not fetched or not read) when it is one of
    the `unseen` pins, when pip cannot fetch it, or when its license is not permissive.
    """
    from tqdm import tqdm

    from model import packages as pk

    unseen_keys = {p.key for p in unseen}
    pins = [pin for path in list_paths for pin in pk.read_package_list(path)]
    roots, records = [], []
    for pin in tqdm(pins, desc="packages", unit="pkg", disable=not progress, file=sys.stderr):
        record = {"name": pin.name, "version": pin.version, "label": pin.key}
        records.append(record)
        if pin.key in unseen_keys:
            record["refused"] = "unseen-code benchmark package"
            continue
        try:
            unpacked = pk.unpack(pk.fetch(pin, cache), cache)
        except pk.PackageError as e:
            record["refused"] = str(e)
            continue
        spdx, source = pk.license_of(pk.metadata(unpacked))
        record["license"], record["license_source"] = spdx, source[:200]
        if spdx is None:
            record["refused"] = f"license not known to be permissive: {source[:120]}"
            continue
        roots.append((pin.key, unpacked))
    for record in records:
        if "refused" in record:
            print(f"refused {record['name']}=={record['version']}: {record['refused']}", file=sys.stderr)
    return roots, records


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="*", metavar="PATH_OR_GLOB", help="directories, files or globs")
    p.add_argument("--out", required=True, help="corpus dir to write")
    p.add_argument("--stdlib", action="store_true", help="add this interpreter's standard library")
    p.add_argument("--package", action="append", default=[], metavar="NAME", help="add an installed package's sources")
    p.add_argument("--ext", action="append", default=None, help="file extensions to take (default .py)")
    p.add_argument("--val", type=float, default=0.05, help="fraction of files for validation")
    p.add_argument("--test", type=float, default=0.05, help="fraction of files for test")
    p.add_argument("--keep-comments", action="store_true")
    p.add_argument("--keep-docstrings", action="store_true")
    p.add_argument("--max-literal-lines", type=int, default=DEFAULT_CLEANING["max_literal_lines"])
    p.add_argument("--packages", action="append", default=[], metavar="FILE",
                   help="a pinned package list (name==version a line): fetched with pip, permissive licenses only")
    p.add_argument("--cache", default=None, help="where fetched packages are kept (default ~/.cache/tabcomplete/packages)")
    p.add_argument("--max-package-chars", type=int, default=None,
                   help="at most this many cleaned characters from one source, so none dominates")
    args = p.parse_args(argv)

    roots = [(os.path.basename(os.path.normpath(s.split("*")[0])) or "files", s) for s in args.sources]
    if args.stdlib:
        roots.append(("stdlib", stdlib_dir()))
    roots += [(name, package_dir(name)) for name in args.package]
    from model import packages as pk

    unseen = pk.unseen_pins()
    records = None
    if args.packages:
        package_roots_, records = package_roots(args.packages, args.cache or pk.DEFAULT_CACHE, unseen)
        roots += package_roots_
    if not roots:
        p.error("give at least one source: PATH_OR_GLOB, --stdlib or --package NAME")
    exts = tuple(e if e.startswith(".") else "." + e for e in (args.ext or [".py"]))
    cleaning = {"strip_comments": not args.keep_comments, "strip_docstrings": not args.keep_docstrings,
                "max_literal_lines": args.max_literal_lines}
    refuse = {name for pin in unseen for name in pin.import_names}
    m = build_corpus(args.out, roots, exts, args.val, args.test, cleaning, refuse_imports=refuse,
                     max_package_chars=args.max_package_chars, packages=records)
    print(json.dumps({"out": args.out, "files": m["files"],
                      "chars": {k: v["chars"] for k, v in m["splits"].items()}}))


if __name__ == "__main__":
    main()
