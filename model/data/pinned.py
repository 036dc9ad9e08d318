"""Pinned packages into corpus sources: fetch each pin of the package lists into the cache,
unpack it, read its license, and say which of its files the corpus takes; one record per package
for the manifest, and the table a build prints at the end.

PyPI packages are read whole, as they always were (the corpus builder skips their generated
files); Debian and npm packages go through model.data.sourcefilter, which records per package
what it found, took and skipped, and why.
"""
import re
import sys

from model.data import debian, npm, sourcefilter
from model.data import packages as pk
from model.data.licenses import expression

FETCHERS = {"debian": debian, "npm": npm}
_MB = 1e6


def package_sources(pins, cache, unseen, exts, progress=True):
    """(pypi_roots, package_roots, files, records) for the pins, in order.

    pypi_roots: (label, directory) of each PyPI package taken, its unpacked archive (read whole);
    package_roots: (label, source tree) of each Debian and npm package taken; files: (path,
    label/relative path) of their files sourcefilter took; records: one dict per pin for the
    manifest.
    A package is refused (recorded with its reason, its files not read) when it is one of the
    `unseen` pins, when it cannot be fetched or unpacked, or when its license is not permissive.
    """
    from tqdm import tqdm

    unseen_keys = {(p.source, p.key) for p in unseen}
    roots, filtered, files, records, seen = [], [], [], [], set()
    for pin in tqdm(pins, desc="packages", unit="pkg", disable=not progress, file=sys.stderr):
        record = {"name": pin.name, "version": pin.version, "label": pin.key}
        if pin.source != "pypi":
            record["source"] = pin.source
        records.append(record)
        if (pin.source, pin.key) in unseen_keys:
            record["refused"] = "unseen-code benchmark package"
        elif pin.source == "pypi":
            root = _pypi(pin, cache, record)
            if root:
                roots.append((pin.key, root))
        else:
            taken = _filtered(pin, cache, exts, seen, record)
            if taken is not None:
                filtered.append((pin.key, taken[0]))
                files += [(path, f"{pin.key}/{rel}") for path, rel in taken[1]]
    for pin, record in zip(pins, records):
        if "refused" in record:
            print(f"refused {pin.spec}: {record['refused']}", file=sys.stderr)
    return roots, filtered, files, records


def _pypi(pin, cache, record):
    try:
        unpacked = pk.unpack(pk.fetch(pin, cache), cache)
    except pk.PackageError as e:
        record["refused"] = str(e)
        return None
    spdx, source = pk.license_of(pk.metadata(unpacked))
    record["license"], record["license_source"] = spdx, source[:200]
    if spdx is None:
        record["refused"] = f"license not known to be permissive: {source[:120]}"
        return None
    return unpacked


def _filtered(pin, cache, exts, seen, record):
    """(source root, [(path, relative path)]) of a Debian or npm package, or None if refused."""
    fetcher = FETCHERS[pin.source]
    options = {k: v for k, v in pin.options if k != "language"}
    if options:
        record["options"] = options
    try:
        tree = fetcher.unpack(fetcher.fetch(pin, cache), cache)
        family, said = fetcher.license_of(tree, pin)
        record["license"], record["license_source"] = family, said[:300]
        if pin.option("license"):  # a person's reading, kept beside what the package says
            record["license_read"] = family
            record["license"] = expression(pin.option("license"))
            record["license_source"] = f"the package list: license={pin.option('license')}; the package: {said}"[:300]
        if record["license"] is None:
            record["refused"] = f"license not known to be permissive: {said[:160]}"
            return None
        root = fetcher.source_root(tree, pin)
        taken, stats = sourcefilter.select(root, exts, seen, pin.option("only", ()), pin.option("skip", ()),
                                           pin.option("cap"))
    except pk.PackageError as e:
        record["refused"] = str(e)
        return None
    except FileNotFoundError as e:
        record["refused"] = f"only={','.join(pin.option('only', ()))}: {e} is not a directory of the package"
        return None
    record.update(stats)
    return root, taken


def totals(records):
    """What the source filter did over all Debian and npm packages: packages taken and refused,
    files and bytes found and taken, and the files skipped by each rule (None without any)."""
    filtered = [r for r in records if r.get("source") in FETCHERS]
    if not filtered:
        return None
    total = {"packages": len(filtered), "refused": sum("refused" in r for r in filtered)}
    for key in ("found", "found_bytes", "taken", "taken_bytes"):
        total[key] = sum(r.get(key, 0) for r in filtered)
    total["skipped"] = {reason: sum(r.get("skipped", {}).get(reason, 0) for r in filtered)
                        for reason in sourcefilter.REASONS}
    total["skipped"] = {k: v for k, v in total["skipped"].items() if v}
    return total


def table(records):
    """The packages of a build, one line each, and a total: license, what was found and taken
    (files / MB of source), the skips by rule, and what the corpus kept after cleaning."""
    rows = [("package", "version", "license", "found", "taken", "skipped by rule", "kept (files / chars)")]
    for r in records:
        if "refused" in r:
            reason = re.sub(r"usr/share/doc/[^:]+/copyright: ", "", r["refused"])  # the file is always that one
            rows.append((r["name"], r["version"], "-", "", "", f"REFUSED: {reason[:100]}", ""))
            continue
        rows.append((r["name"], r["version"], (r.get("license") or "-")[:24], _files(r, "found"), _files(r, "taken"),
                     _skips(r.get("skipped", {})), f"{r.get('files', 0)} / {r.get('chars', 0):,}"))
    t = totals(records) or {}
    kept = [r for r in records if "refused" not in r]
    rows.append(("total", f"{len(kept)} taken", f"{len(records) - len(kept)} refused", _files(t, "found"),
                 _files(t, "taken"), _skips(t.get("skipped", {})),
                 f"{sum(r.get('files', 0) for r in kept)} / {sum(r.get('chars', 0) for r in kept):,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _files(r, key):
    return f"{r[key]} / {r[key + '_bytes'] / _MB:.2f}" if key in r else "-"


def _skips(skipped):
    return ", ".join(f"{k} {v}" for k, v in skipped.items()) or "-"
