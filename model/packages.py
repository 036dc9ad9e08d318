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
UNSEEN_DIR = os.path.join(os.path.dirname(__file__), "unseen")

# SPDX ids (and the words older metadata uses for them) that allow training on the code.
PERMISSIVE = {
    "mit": "MIT", "mit license": "MIT", "mit-cmu": "MIT-CMU", "expat": "MIT",
    "bsd": "BSD", "bsd license": "BSD", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause", "new bsd license": "BSD-3-Clause", "3-clause bsd": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause", "simplified bsd": "BSD-2-Clause", "0bsd": "0BSD",
    "apache": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache-2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "apache software license": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "apache 2": "Apache-2.0", "asl 2": "Apache-2.0",
    "psf": "PSF-2.0", "psf-2.0": "PSF-2.0", "python software foundation license": "PSF-2.0",
    "isc": "ISC", "isc license": "ISC", "isc license (iscl)": "ISC",
    "zpl-2.1": "ZPL-2.1", "zope public license": "ZPL-2.1", "zpl 2.1": "ZPL-2.1",
    "unlicense": "Unlicense", "the unlicense (unlicense)": "Unlicense", "cc0-1.0": "CC0-1.0",
    "hpnd": "HPND", "historical permission notice and disclaimer (hpnd)": "HPND",
    "mpl-2.0": None,  # weak copyleft: refused (listed so the refusal says what it is)
}
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
            "--dest", dest, f"{pin.name}=={pin.version}"] + (["--quiet"] if quiet else [])
    attempts = [base + ["--only-binary=:all:"],
                base + ["--only-binary=:all:", "--platform", "any", "--python-version", "3.11"],
                base + ["--no-binary=:all:", "--no-build-isolation"]]
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


def license_of(meta):
    """(SPDX-ish id or None, the text it was read from). None means not known to be permissive."""
    if meta is None:
        return None, "no metadata"
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return _expression(expression), expression
    declared = (meta.get("License") or "").strip()
    first_line = declared.splitlines()[0].strip() if declared else ""
    if first_line and len(first_line) < 80 and first_line.lower() in PERMISSIVE:
        return PERMISSIVE[first_line.lower()], first_line
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
    """An SPDX expression is permissive when each alternative of an OR, or every part of an AND, is."""
    def one(term):
        return PERMISSIVE.get(term.strip(" ()").lower()) or (
            term.strip(" ()") if term.strip(" ()") in PERMISSIVE.values() else None)
    for alternative in re.split(r"\s+OR\s+", expression):
        parts = [one(t) for t in re.split(r"\s+AND\s+", alternative)]
        if all(parts):
            return " AND ".join(parts)
    return None
