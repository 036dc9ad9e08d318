"""Gather source files and clean them into a corpus dir: train.txt, val.txt, test.txt, manifest.json.

    python -m model.data.corpus --out data/stdlib --stdlib
    python -m model.data.corpus --out data/mix --stdlib --package numpy --package pandas
    python -m model.data.corpus --out data/c --ext .c --ext .h '/usr/include/**/*.h'
    python -m model.data.corpus --out data/c --packages model/sources/c.txt   (Debian, npm, PyPI pins)

This module is the corpus dir's only writer and reader: training, evaluation and sweeps read
its splits and manifest through read_manifest(), read_split() and documents().
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

from model.data import packages as pk
from model.data import pinned
from model.text.clean import (
    DEFAULT_CLEANING,
    FILE_START,
    PYTHON_EXTS,
    SOURCE_EXTENSIONS,
    CleaningError,
    clean,
    language_of,
)

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
TINY_CHARS = 100_000  # a corpus smaller than this gets a warning: figures on its val and test files are noisy


class CorpusError(Exception):
    """A corpus dir, or a source to build one from, is missing or unusable; the message says why."""


# -- Reading a corpus dir -----------------------------------------------------------------

def check(corpus, names=(MANIFEST, "train.txt", "val.txt")):
    """Raise CorpusError unless the corpus dir holds these files."""
    missing = [name for name in names if not os.path.exists(os.path.join(corpus, name))]
    if missing:
        raise CorpusError(f"{corpus} is not a corpus dir (missing {', '.join(missing)}); "
                          f"build one with python -m model.data.corpus")


def read_manifest(corpus):
    """(manifest, sha256 of manifest.json): the hash ties a model dir to the corpus it was trained on."""
    check(corpus, (MANIFEST,))
    path = os.path.join(corpus, MANIFEST)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        manifest = json.loads(raw)
    except ValueError as err:
        raise CorpusError(f"{path}: corrupt ({err})") from None
    return manifest, hashlib.sha256(raw).hexdigest()


def cleaned_as(manifest):
    """(language, extension) the corpus's files were cleaned as; a request to a model trained on
    it must be cleaned as that extension too. (Manifests written before "extension" was
    recorded: the first of their extensions, which is what their language was named after.)"""
    ext = manifest.get("extension") or min(manifest.get("extensions") or [".py"])
    return manifest.get("language") or language_of(ext), ext


def read_split(corpus, name):
    check(corpus, (f"{name}.txt",))
    with open(os.path.join(corpus, f"{name}.txt"), encoding="utf-8") as f:
        return f.read()


def documents(corpus, name):
    """The split's cleaned files, each without its FILE_START."""
    return [d for d in read_split(corpus, name).split(FILE_START) if d.strip()]


# -- Gathering files ---------------------------------------------------------------------

def stdlib_dir():
    return sysconfig.get_paths()["stdlib"]


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise CorpusError(f"package {name!r} is not installed in this interpreter")
    if spec.submodule_search_locations:
        return next(iter(spec.submodule_search_locations))
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
            raise CorpusError(f"no such file, directory or glob match: {root}")
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
    text = text.removeprefix("\ufeff")
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


def _hash_order(doc):
    return hashlib.sha256(doc[1].encode()).digest()


def hold_out(splits, fractions):
    """Give each held-out split (val, test) whose fraction is above 0 at least one file and half
    its share of the characters, and at most twice its share where train has files that fit,
    and train at least one file, whatever the hash split gave a small corpus: a held-out split's
    largest files go back to train while it is over twice its share, then files move from train
    in hash order (passing over any that would take the split past twice its share; the smallest
    if all would), and a missing file may come from another split with more than one. A big
    corpus is left as hashed. Returns the files moved into each split; CorpusError when there
    are too few files for one a split."""
    held = [name for name in ("val", "test") if fractions[name] > 0]
    count = sum(len(docs) for docs in splits.values())
    if count < 1 + len(held):
        raise CorpusError(f"{count} file(s) of code kept: a corpus needs at least {1 + len(held)}, one for "
                          f"train and one for each of {' and '.join(held)} (files are never cut in two); "
                          f"add source files")

    def chars(docs):
        return sum(len(d[2]) for d in docs)

    def move(src, dest, room=None, doc=None):
        if doc is None:
            docs = sorted(splits[src], key=_hash_order)
            fits = [d for d in docs if room is None or len(d[2]) <= room]
            doc = fits[0] if fits else min(docs, key=lambda d: len(d[2]))
        splits[src].remove(doc)
        splits[dest].append(doc)
        moved[dest] = moved.get(dest, 0) + 1

    moved = {}
    total = sum(chars(docs) for docs in splits.values())
    if not splits["train"]:
        move(max(held, key=lambda n: len(splits[n])), "train")
    for name in held:
        share = fractions[name] * total
        # A held-out split the hash made far too big (one large file of a small project) would
        # leave too little to learn from: its largest files go back to train, and files that
        # fit come from there (never the ones just sent back, which do not fit).
        while chars(splits[name]) > 2 * share and any(len(d[2]) <= 2 * share for d in splits["train"]):
            move(name, "train", doc=max(splits[name], key=lambda d: len(d[2])))
        while True:
            if not splits[name]:
                src = next(d for d in ("train", *held) if d != name and len(splits[d]) > 1)
                move(src, name, room=2 * share if src == "train" else None)
            elif chars(splits[name]) < share / 2 and len(splits["train"]) > 1:
                move("train", name, room=2 * share - chars(splits[name]))
            else:
                break
    return moved


def build_corpus(out, roots, exts=(".py",), val_frac=0.05, test_frac=0.05, cleaning=None,
                 max_file_bytes=1_000_000, progress=True, refuse_imports=(), max_package_chars=None,
                 packages=None, files=None):
    """Clean every file under `roots` (or the given `files`, [(path, relative name)]) into the
    corpus dir `out`.

    refuse_imports: import names whose files (and vendored copies) never enter the corpus.
    max_package_chars: at most this many cleaned characters from one fetched package (files
    in hash order), so no package dominates; other sources are taken whole. packages: the package records to keep in the manifest.
    """
    from tqdm import tqdm

    cleaning = {**DEFAULT_CLEANING, **(cleaning or {})}
    refuse_imports = set(refuse_imports)
    files = list(find_files(roots, set(exts))) if files is None else list(files)
    counts = {"found": len(files), "kept": 0, "duplicate": 0, "binary": 0, "undecodable": 0,
              "untokenizable": 0, "empty": 0, "too_large": 0, "generated": 0, "minified": 0,
              "unseen_package": 0, "over_package_cap": 0}
    splits = {name: [] for name in SPLITS}
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
    moved = hold_out(splits, {"val": val_frac, "test": test_frac})
    total = sum(len(d[2]) for docs in splits.values() for d in docs)
    warnings = []
    if total < TINY_CHARS:
        held = ", ".join(f"{name} {sum(len(d[2]) for d in splits[name]):,} chars in {len(splits[name])} file(s)"
                         for name in ("val", "test"))
        warnings.append(f"a tiny corpus ({total:,} chars of code in {counts['kept']} files): {held}; "
                        f"figures measured on so little are noisy")

    os.makedirs(out, exist_ok=True)
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sources": [{"label": label, "path": path} for label, path in roots],
        "extensions": sorted(exts),
        "extension": min(exts),  # what a request to a model trained on this is cleaned as
        "language": language_of(min(exts)),
        "cleaning": cleaning,
        "file_start": FILE_START,
        "val_fraction": val_frac,
        "test_fraction": test_frac,
        "files": counts,
        "refused_imports": sorted(refuse_imports),
        "max_package_chars": max_package_chars,
        "packages": packages or [],
        "package_files": pinned.totals(packages or []),  # what the source filter took from Debian and npm packages
        "moved_to_hold_out": moved,  # files hold_out() moved so that val and test are not empty
        "warnings": warnings,
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
    with open(os.path.join(out, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.data.corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="*", metavar="PATH_OR_GLOB", help="directories, files or globs")
    p.add_argument("--out", required=True, help="corpus dir to write")
    p.add_argument("--stdlib", action="store_true", help="add this interpreter's standard library")
    p.add_argument("--package", action="append", default=[], metavar="NAME", help="add an installed package's sources")
    p.add_argument("--ext", action="append", default=None,
                   help="file extensions to take (default: the package lists' language=, else .py)")
    p.add_argument("--val", type=float, default=0.05, help="fraction of files for validation")
    p.add_argument("--test", type=float, default=0.05, help="fraction of files for test")
    p.add_argument("--keep-comments", action="store_true")
    p.add_argument("--keep-docstrings", action="store_true")
    p.add_argument("--max-literal-lines", type=int, default=DEFAULT_CLEANING["max_literal_lines"])
    p.add_argument("--packages", action="append", default=[], metavar="FILE",
                   help="a pinned package list (name==version, debian:NAME=VERSION, npm:NAME@VERSION a line): "
                        "fetched into the cache, permissive licenses only")
    p.add_argument("--cache", default=None, help="where fetched packages are kept (default ~/.cache/tabcomplete/packages)")
    p.add_argument("--max-package-chars", type=int, default=None,
                   help="at most this many cleaned characters from one source, so none dominates")
    args = p.parse_args(argv)

    roots = [(os.path.basename(os.path.normpath(s.split("*")[0])) or "files", s) for s in args.sources]
    if args.stdlib:
        roots.append(("stdlib", stdlib_dir()))
    cleaning = {"strip_comments": not args.keep_comments, "strip_docstrings": not args.keep_docstrings,
                "max_literal_lines": args.max_literal_lines}
    try:
        roots += [(name, package_dir(name)) for name in args.package]
        pins = [pin for path in args.packages for pin in pk.read_package_list(path)]
        exts = tuple(e if e.startswith(".") else "." + e for e in (args.ext or _list_extensions(pins)))
        unseen = pk.unseen_pins()
        records, files = None, None
        if args.packages:
            pypi_roots, package_roots, package_files, records = pinned.package_sources(
                pins, args.cache or pk.DEFAULT_CACHE, unseen, exts)
            roots += pypi_roots
            if package_roots:  # Debian and npm files come chosen by the source filter; the rest is walked
                files = list(find_files(roots, set(exts))) + package_files
            roots += package_roots
        if not roots:
            p.error("give at least one source: PATH_OR_GLOB, --stdlib, --package NAME or --packages FILE")
        refuse = {name for pin in unseen for name in pin.import_names}
        m = build_corpus(args.out, roots, exts, args.val, args.test, cleaning, refuse_imports=refuse,
                         max_package_chars=args.max_package_chars, packages=records, files=files)
    except (CorpusError, pk.PackageError) as err:
        raise SystemExit(f"error: {err}")
    for warning in m["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if records:
        print(pinned.table(m["packages"]), file=sys.stderr)
    print(json.dumps({"out": args.out, "files": m["files"],
                      "chars": {k: v["chars"] for k, v in m["splits"].items()}}))


def _list_extensions(pins):
    """The extensions of the package lists' language= (one language for all), else .py."""
    languages = sorted({pin.option("language") for pin in pins} - {None})
    if len(languages) > 1:
        raise CorpusError(f"the package lists name several languages ({', '.join(languages)}); "
                          f"build one corpus per language, or say which files to take with --ext")
    return SOURCE_EXTENSIONS[languages[0]] if languages else (".py",)


if __name__ == "__main__":
    main()
