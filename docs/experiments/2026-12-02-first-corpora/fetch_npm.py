"""Fetch pinned npm packages with `npm pack NAME@VERSION` into a cache and read their license.

    python fetch_npm.py CACHE NAME@VERSION ...

fetch_npm() leaves CACHE/tarballs/<name>-<version>.tgz; unpack_npm() extracts it once into
CACHE/unpacked/<name>-<version>/package; read_license() returns (license field, permissive id
or None) from its package.json.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from licenses import spdx_permissive  # noqa: E402


class FetchError(Exception):
    pass


def _stem(name, version):
    return f"{name.lstrip('@').replace('/', '-')}-{version}"


def fetch_npm(name, version, cache):
    """Path of the package tarball in CACHE/tarballs, running npm pack if absent."""
    dest = os.path.join(cache, "tarballs")
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, _stem(name, version) + ".tgz")
    if os.path.exists(path):
        return path
    r = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", dest, "--json", "--silent"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode or not os.path.exists(path):
        raise FetchError(f"{name}@{version}: npm pack failed: {(r.stderr or r.stdout).strip()[-300:]}")
    return path


def unpack_npm(tarball, cache):
    out = os.path.join(cache, "unpacked", os.path.basename(tarball)[:-4])
    if os.path.isdir(out):
        return os.path.join(out, "package")
    tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tarball) as t:
        members = [m for m in t.getmembers() if (m.isfile() or m.isdir())
                   and not (m.name.startswith("/") or ".." in m.name.split("/"))]
        t.extractall(tmp, members=members)
    # npm tarballs hold one top directory, usually "package"
    tops = os.listdir(tmp)
    if tops != ["package"] and len(tops) == 1:
        os.rename(os.path.join(tmp, tops[0]), os.path.join(tmp, "package"))
    os.replace(tmp, out)
    return os.path.join(out, "package")


def read_license(package_dir):
    """(declared license as written in package.json, permissive alternative or None)."""
    try:
        with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return "no package.json", None
    declared = meta.get("license")
    if isinstance(declared, dict):
        declared = declared.get("type")
    if not declared and isinstance(meta.get("licenses"), list):
        declared = " OR ".join(l.get("type", "") if isinstance(l, dict) else str(l) for l in meta["licenses"])
    declared = declared or "none declared"
    return declared, spdx_permissive(declared)


if __name__ == "__main__":
    cache = sys.argv[1]
    for spec in sys.argv[2:]:
        name, version = spec.rsplit("@", 1)
        try:
            d = unpack_npm(fetch_npm(name, version, cache), cache)
            print(spec, *read_license(d), d, flush=True)
        except FetchError as e:
            print("FAILED", e, flush=True)
