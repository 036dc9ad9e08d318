"""npm packages as corpus sources: fetch a pinned package's tarball with `npm pack` into a cache
(never installed, no dependencies), unpack it, and read its license from package.json.

    tgz = fetch(pin, cache)      # CACHE/npm/tarballs/NAME-VERSION.tgz, npm pack if absent
    tree = unpack(tgz, cache)    # CACHE/npm/unpacked/NAME-VERSION/package/
    source_root(tree, pin)       # the package, or its root= directory
    license_of(tree, pin)        # (family or None, the license package.json declares)

npm pack is the only step that touches the network; a tarball already in the cache is used as is.
"""
import json
import os
import shutil
import subprocess
import tarfile

from model.data.licenses import npm_license
from model.data.packages import PackageError, safe_member

TIMEOUT = 600  # seconds for one npm pack


def tarball_name(pin):
    """The file `npm pack` writes: a scope's @ dropped and its / as -, then -VERSION.tgz."""
    return f"{pin.name.lstrip('@').replace('/', '-')}-{pin.version}.tgz"


def fetch(pin, cache):
    """Path of the pinned package's tarball in CACHE/npm/tarballs, running npm pack if absent."""
    dest = os.path.abspath(os.path.join(cache, "npm", "tarballs"))
    path = os.path.join(dest, tarball_name(pin))
    if os.path.exists(path):
        return path
    os.makedirs(dest, exist_ok=True)
    try:
        # Run inside the cache dir, so no project's .npmrc or package.json around us has a say.
        r = subprocess.run(["npm", "pack", f"{pin.name}@{pin.version}", "--pack-destination", ".", "--loglevel=error"],
                           cwd=dest, check=False, capture_output=True, text=True, timeout=TIMEOUT)
    except FileNotFoundError:
        raise PackageError(f"{pin.spec}: not in the cache ({dest}) and npm is not installed to fetch it; "
                           f"put its tarball there or install Node.js and npm") from None
    except subprocess.TimeoutExpired:
        raise PackageError(f"{pin.spec}: npm pack took over {TIMEOUT} s; is the network down?") from None
    if r.returncode or not os.path.exists(path):
        said = [(line.split(" ", 2) + [""])[2].strip() for line in r.stderr.splitlines()
                if line.startswith(("npm error", "npm ERR!"))]
        said = [line for line in said if line and line != "404" and not line.startswith("A complete log")]
        reason = "; ".join(said[:2]) or f"exit status {r.returncode}, no {tarball_name(pin)} written"
        raise PackageError(f"{pin.spec}: npm pack failed: {reason}")
    return path


def unpack(tarball, cache):
    """Unpack the tarball once into CACHE/npm/unpacked/<its name>/package; returns that directory
    (npm tarballs hold one top directory, nearly always package/)."""
    dest = os.path.join(cache, "npm", "unpacked", os.path.basename(tarball)[:-len(".tgz")])
    if os.path.isdir(dest):
        return os.path.join(dest, "package")
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(tarball) as t:
            members = [m for m in t.getmembers() if (m.isfile() or m.isdir()) and safe_member(m.name)]
            t.extractall(tmp, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{tarball}: cannot unpack ({e}); delete it from the cache and fetch again") from e
    tops = os.listdir(tmp) if os.path.isdir(tmp) else []
    if len(tops) != 1:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{tarball}: expected one top directory (package/), found {len(tops)}")
    if tops != ["package"]:
        os.rename(os.path.join(tmp, tops[0]), os.path.join(tmp, "package"))
    os.replace(tmp, dest)
    return os.path.join(dest, "package")


def source_root(tree, pin):
    """The directory whose files the corpus reads: the package, or its root= directory."""
    root = pin.option("root")
    if not root:
        return tree
    path = os.path.join(tree, root)
    if not os.path.isdir(path):
        raise PackageError(f"{pin.spec}: root={root} is not a directory of the package")
    return path


def license_of(tree, pin):
    """(family or None, the license package.json declares)."""
    try:
        with open(os.path.join(tree, "package.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        return None, f"package.json unreadable ({e.__class__.__name__})"
    family, declared = npm_license(meta)
    return family, f"package.json: {declared}"
