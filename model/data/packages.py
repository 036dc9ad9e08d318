"""Pinned PyPI packages as corpus sources: read a package list, fetch each with pip into a cache,
unpack it, and read its license.

A package list is a text file, one `name==version` a line (`#` starts a comment). A line may
name the package's import names after the pin (`python-dateutil==2.9.0 dateutil`); without
them the import name is the project name with `-` as `_`. The corpus builder uses the import
names to refuse vendored copies of a package it must never train on (model/unseen/*.txt).

pip is the only thing that touches the network; an archive already in the cache is used as is.
"""
import email.parser
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field

DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "tabcomplete", "packages")
MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # model/
UNSEEN_DIR = os.path.join(MODEL_DIR, "unseen")  # the unseen-code benchmark's lists: no corpus takes them
SOURCES_DIR = os.path.join(MODEL_DIR, "sources")  # the shipped models' corpus lists, one per language

# Permissive licenses, as the words metadata writes them (SPDX ids and the older free text):
# each pattern matches a whole term after lower-casing and dropping "license"/"the".
PERMISSIVE = [
    (r"mit|expat|mit-0|mit-cmu|mit no attribution", "MIT"),
    (r"(new |modified |simplified |revised )?bsd( ?[-_ ]?[023][- ]clause)?|[023][- ]clause bsd|0bsd", "BSD"),
    (r"apache( software)?([- ]?(version|v)?[- ]?2(\.0)?)?|asl[- ]?2(\.0)?", "Apache-2.0"),
    (r"psf(-2\.0)?|python software foundation|python-2\.0", "PSF-2.0"),
    (r"isc|iscl|isc \(iscl\)", "ISC"),
    (r"zpl[- ]?2\.[01]|zope public", "ZPL-2.1"),
    (r"unlicense|the unlicense \(unlicense\)|cc0(-1\.0)?|public domain", "Unlicense/CC0"),
    (r"hpnd|historical permission notice and disclaimer( \(hpnd\))?", "HPND"),
    (r"zlib|zlib/libpng", "Zlib"),
]
# Trove classifiers (License :: ...) -> SPDX id, for packages whose License field is empty.
CLASSIFIERS = {
    "MIT License": "MIT", "BSD License": "BSD", "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0", "ISC License (ISCL)": "ISC",
    "Zope Public License": "ZPL-2.1", "The Unlicense (Unlicense)": "Unlicense",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND", "MIT No Attribution License (MIT-0)": "MIT-0",
}
_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)((?:\s+[A-Za-z_][A-Za-z0-9_]*)*)$")


class PackageError(Exception):
    """A package list or a package that cannot be used, with what to do about it."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    imports: tuple = field(default=())

    @property
    def key(self):
        return normalize(self.name)

    @property
    def import_names(self):
        return self.imports or (self.key.replace("-", "_"),)


def normalize(name):
    """PEP 503 name: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_package_list(path):
    """Pins in file order; raises PackageError naming the file and line of a malformed one."""
    pins, seen = [], {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            m = _LINE.match(line)
            if not m:
                raise PackageError(f"{path}:{number}: expected 'name==version [import_name ...]', got {line!r}")
            pin = Pin(m.group(1), m.group(2), tuple(m.group(3).split()))
            if pin.key in seen:
                raise PackageError(f"{path}:{number}: {pin.name} is already pinned on line {seen[pin.key]}")
            seen[pin.key] = number
            pins.append(pin)
    return pins


def unseen_pins(unseen_dir=UNSEEN_DIR):
    """The packages no corpus may include: the unseen-code benchmark's and its dev set's."""
    pins = []
    for path in sorted(glob.glob(os.path.join(unseen_dir, "*.txt"))):
        pins += read_package_list(path)
    return pins


def fetch(pin, cache=DEFAULT_CACHE, quiet=True):
    """Path of the pinned package's archive in the cache, downloading it with pip if absent.

    A wheel is preferred (any platform's will do: only its source files are read), else the sdist.
    """
    dest = os.path.join(cache, "archives", f"{pin.key}-{pin.version}")
    found = _archive_in(dest)
    if found:
        return found
    os.makedirs(dest, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--ignore-requires-python", "--dest", dest, f"{pin.name}=={pin.version}"] + (["--quiet"] if quiet else [])
    # This interpreter's wheel first; then a newer CPython's (packages that dropped 3.11 still
    # ship their sources in it); the sdist last (pip may need to build its metadata).
    newer = ["--only-binary=:all:", "--python-version", "3.13", "--implementation", "cp"] + [
        arg for tag in ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "any") for arg in ("--platform", tag)]
    attempts = [base + ["--only-binary=:all:"], base + newer, base + ["--no-binary=:all:", "--no-build-isolation"]]
    errors = []
    for cmd in attempts:
        r = subprocess.run(cmd, capture_output=True, text=True)
        found = _archive_in(dest)
        if found:
            return found
        errors.append((r.stderr or r.stdout).strip().splitlines()[-1:] or ["(no output)"])
    shutil.rmtree(dest, ignore_errors=True)
    raise PackageError(f"{pin.name}=={pin.version}: pip could not fetch it ({errors[0][0]})")


def _archive_in(dest):
    if not os.path.isdir(dest):
        return None
    names = sorted(os.listdir(dest))
    for suffix in (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        for n in names:
            if n.endswith(suffix):
                return os.path.join(dest, n)
    return None


def unpack(archive, cache=DEFAULT_CACHE):
    """Unpack an archive once into the cache; returns the directory."""
    name = os.path.basename(archive)
    dest = os.path.join(cache, "unpacked", name)
    if os.path.isdir(dest):
        return dest
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as z:
                for member in z.infolist():
                    if _safe(member.filename):
                        z.extract(member, tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, members=[m for m in t.getmembers() if _safe(m.name) and (m.isfile() or m.isdir())])
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{archive}: cannot unpack ({e}); delete it from the cache and fetch again") from e
    os.replace(tmp, dest)
    return dest


def _safe(member):
    return not (member.startswith(("/", "\\")) or ".." in member.replace("\\", "/").split("/"))


def metadata(unpacked):
    """The package's core metadata (a wheel's METADATA or an sdist's PKG-INFO), or None."""
    paths = (glob.glob(os.path.join(unpacked, "*.dist-info", "METADATA"))
             or glob.glob(os.path.join(unpacked, "PKG-INFO"))
             or glob.glob(os.path.join(unpacked, "*", "PKG-INFO")))
    if not paths:
        return None
    with open(paths[0], encoding="utf-8", errors="replace") as f:
        return email.parser.Parser().parse(f)


def permissive(term):
    """The license family of one license term if it is permissive, else None."""
    words = re.sub(r"\b(the|license[sd]?|licence)\b|[,;:]", " ", term.lower().strip(" ()"))
    words = re.sub(r"\s+", " ", words).strip()
    for pattern, family in PERMISSIVE:
        if re.fullmatch(pattern, words):
            return family
    return None


def license_of(meta):
    """(license family or None, the text it was read from). None: not known to be permissive."""
    if meta is None:
        return None, "no metadata"
    declared = (meta.get("License-Expression") or meta.get("License") or "").strip()
    first_line = declared.splitlines()[0].strip() if declared else ""
    if first_line and len(first_line) < 100 and _expression(first_line):
        return _expression(first_line), first_line
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    ids = {CLASSIFIERS.get(c) for c in classifiers}
    if classifiers and None not in ids:
        return "/".join(sorted(ids)), "; ".join(classifiers)
    if first_line:
        # A whole license text pasted in the field: recognise the common permissive ones.
        text = declared.lower()
        if "permission is hereby granted, free of charge" in text:
            return "MIT", first_line
        if "redistribution and use in source and binary forms" in text and "gnu" not in text:
            return "BSD", first_line
        if "apache license" in text and "version 2.0" in text:
            return "Apache-2.0", first_line
    return None, (first_line or "; ".join(classifiers) or "no license field")


def _expression(expression):
    """An SPDX expression (or a plain name) is permissive when one alternative of an OR has
    only permissive parts (every part of an AND)."""
    for alternative in re.split(r"\s+(?:OR|or)\s+|\s*/\s*", expression):
        parts = [permissive(t) for t in re.split(r"\s+(?:AND|and)\s+", alternative)]
        if all(parts):
            return " AND ".join(dict.fromkeys(parts))
    return None
