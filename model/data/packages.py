"""Pinned packages as corpus sources: read a package list; fetch PyPI packages with pip into a
cache, unpack them, and read their license (Debian's and npm's: model.data.debian, model.data.npm).

A package list is a text file, one pinned package a line (`#` starts a comment):

    requests==2.34.2                        a PyPI package; import names may follow the pin
    python-dateutil==2.9.0 dateutil         (without them: the project name with `-` as `_`)
    debian:xorg-server-source=2:21.1.7-3    a Debian package (apt-get download NAME=VERSION)
    npm:moment@2.31.0 only=src              an npm package (npm pack NAME@VERSION), with options

A Debian or npm pin may carry options, `key=value` words after it:
    root=DIR          the package's source tree, relative to the unpacked package (a `*-source`
                      package's default: the top directory of the source tarball it ships)
    only=DIR,DIR      read only these directories of the tree
    skip=PATH,PATH    leave out these files or directories of the tree (counted as `listed`)
    cap=15MB          at most this many bytes of source files from the package
    license=EXPR      the license a person read in the package, when the package does not say
                      it in a form read here (a copyright file that is not machine-readable and
                      names several licenses): recorded beside what was read
A line of `key=value` words alone sets `language=NAME` (the extensions a corpus of the list
takes) or a `cap=` for every Debian and npm package of the list.

The corpus builder uses PyPI import names to refuse vendored copies of a package it must never
train on (model/unseen/*.txt). pip, apt-get and npm are the only things that touch the network;
an archive already in the cache is used as is.
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

from model.data.licenses import expression
from model.text.clean import LANGUAGES

DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "tabcomplete", "packages")
MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # model/
UNSEEN_DIR = os.path.join(MODEL_DIR, "unseen")  # the unseen-code benchmark's lists: no corpus takes them
SOURCES_DIR = os.path.join(MODEL_DIR, "sources")  # the shipped models' corpus lists, one per language

# Trove classifiers (License :: ...) -> SPDX id, for packages whose License field is empty.
CLASSIFIERS = {
    "MIT License": "MIT", "BSD License": "BSD", "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0", "ISC License (ISCL)": "ISC",
    "Zope Public License": "ZPL-2.1", "The Unlicense (Unlicense)": "Unlicense",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND", "MIT No Attribution License (MIT-0)": "MIT-0",
}
_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)((?:\s+[A-Za-z_][A-Za-z0-9_]*)*)$")
_DEBIAN = re.compile(r"^debian:([a-z0-9][a-z0-9+.-]+)=([0-9][A-Za-z0-9.+~:-]*)$")
_NPM = re.compile(r"^npm:((?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)@([0-9][A-Za-z0-9.+-]*)$")
_SETTING = re.compile(r"^([a-z]+)=([^=\s]+)$")
PACKAGE_OPTIONS = ("root", "only", "skip", "cap", "license")  # on a Debian or npm pin
LIST_SETTINGS = ("language", "cap")  # on a line of their own
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(B|kB|MB|GB)?$")
_UNITS = {None: 1, "B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9}


class PackageError(Exception):
    """A package list or a package that cannot be used, with what to do about it."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    imports: tuple = field(default=())
    source: str = "pypi"  # "pypi", "debian" or "npm"
    options: tuple = field(default=())  # sorted (key, value) pairs: the pin's own and its list's

    @property
    def key(self):
        """The package's name as a corpus labels its files (a directory name)."""
        return normalize(self.name) if self.source == "pypi" else self.name.replace("/", "+")

    @property
    def import_names(self):
        if self.source != "pypi":
            return self.imports
        return self.imports or (self.key.replace("-", "_"),)

    @property
    def spec(self):
        """The pin as a list writes it."""
        return {"pypi": f"{self.name}=={self.version}", "debian": f"debian:{self.name}={self.version}",
                "npm": f"npm:{self.name}@{self.version}"}[self.source]

    def option(self, key, default=None):
        return dict(self.options).get(key, default)


def normalize(name):
    """PEP 503 name: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_package_list(path):
    """Pins in file order, each with its options and its list's settings; raises PackageError
    naming the file and line of a malformed one."""
    pins, seen, settings = [], {}, {}
    with open(path, encoding="utf-8") as f:
        lines = [(number, raw.split("#", 1)[0].split()) for number, raw in enumerate(f, 1)]
    for number, words in lines:
        where = f"{path}:{number}"
        if words and all(_SETTING.match(w) for w in words):
            settings.update(_options(words, LIST_SETTINGS, where))
    for number, words in lines:
        where = f"{path}:{number}"
        if not words or all(_SETTING.match(w) for w in words):
            continue
        pin = _pin(words, settings, where)
        if (pin.source, pin.key) in seen:
            raise PackageError(f"{where}: {pin.name} is already pinned on line {seen[pin.source, pin.key]}")
        seen[pin.source, pin.key] = number
        pins.append(pin)
    return pins


def _pin(words, settings, where):
    first, rest = words[0], words[1:]
    for source, pattern in (("debian", _DEBIAN), ("npm", _NPM)):
        if first.startswith(source + ":"):
            m = pattern.match(first)
            if not m or not all(_SETTING.match(w) for w in rest):
                form = "debian:NAME=VERSION" if source == "debian" else "npm:NAME@VERSION"
                raise PackageError(f"{where}: expected '{form} [key=value ...]' with an exact version, "
                                   f"got {' '.join(words)!r}")
            options = {k: v for k, v in settings.items() if k != "language"}
            options.update(_options(rest, PACKAGE_OPTIONS, where))
            if "language" in settings:
                options["language"] = settings["language"]
            return Pin(m.group(1), m.group(2), (), source, tuple(sorted(options.items())))
    m = _LINE.match(" ".join(words))
    if not m:
        raise PackageError(f"{where}: expected 'name==version [import_name ...]', got {' '.join(words)!r}")
    if set(settings) - {"language"}:
        raise PackageError(f"{where}: {', '.join(sorted(set(settings) - {'language'}))} set for the list applies to "
                           f"debian: and npm: packages; cap PyPI packages with --max-package-chars")
    options = (("language", settings["language"]),) if "language" in settings else ()
    return Pin(m.group(1), m.group(2), tuple(m.group(3).split()), "pypi", options)


def _options(words, allowed, where):
    """{key: value} of `key=value` words, each value checked and parsed."""
    options = {}
    for word in words:
        key, value = _SETTING.match(word).groups()
        if key not in allowed:
            raise PackageError(f"{where}: unknown option {key!r} here (known: {', '.join(allowed)})")
        if key == "cap":
            size = _SIZE.match(value)
            if not size or float(size.group(1)) <= 0:
                raise PackageError(f"{where}: cap={value}: expected a size such as 3MB, 500kB or 20000")
            value = int(float(size.group(1)) * _UNITS[size.group(2)])
        elif key == "language" and value not in LANGUAGES:
            raise PackageError(f"{where}: language={value}: not one of {', '.join(LANGUAGES)}")
        elif key == "license" and expression(value) is None:
            raise PackageError(f"{where}: license={value}: not a permissive license; leave the package out instead")
        elif key in ("root", "only", "skip"):
            paths = tuple(p.strip("/") for p in value.split(","))
            if any(not p or p.startswith(".") or ".." in p.split("/") for p in paths):
                raise PackageError(f"{where}: {key}={value}: expected paths inside the package, comma-separated")
            value = paths[0] if key == "root" else paths
        options[key] = value
    return options


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
    if pin.source != "pypi":
        raise PackageError(f"{pin.spec}: not a PyPI package; model.data.{pin.source} fetches it")
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
        r = subprocess.run(cmd, check=False, capture_output=True, text=True)
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
                    if safe_member(member.filename):
                        z.extract(member, tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, members=[m for m in t.getmembers() if safe_member(m.name) and (m.isfile() or m.isdir())])
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{archive}: cannot unpack ({e}); delete it from the cache and fetch again") from e
    os.replace(tmp, dest)
    return dest


def safe_member(member):
    """An archive member that unpacks inside its directory: no absolute path, no `..`."""
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
    """(license family or None, the text it was read from). None: not known to be permissive."""
    if meta is None:
        return None, "no metadata"
    declared = (meta.get("License-Expression") or meta.get("License") or "").strip()
    first_line = declared.splitlines()[0].strip() if declared else ""
    if first_line and len(first_line) < 100 and expression(first_line):
        return expression(first_line), first_line
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

