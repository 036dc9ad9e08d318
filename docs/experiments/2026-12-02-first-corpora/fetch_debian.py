"""Fetch pinned Debian binary packages (never installed) and unpack them into a cache.

    python fetch_debian.py CACHE NAME=VERSION ...

fetch_debian() runs `apt-get download NAME=VERSION` into CACHE/debs; unpack_deb() runs
`dpkg-deb -x` into CACHE/unpacked/NAME_VERSION; unpack_inner_tarballs() opens the source
tarballs that *-source packages ship under usr/src. read_copyright() returns the text of
usr/share/doc/NAME/copyright (the Debian machine-readable copyright file when it is one).
"""
import os
import shutil
import subprocess
import sys
import tarfile


class FetchError(Exception):
    pass


def _safe_name(version):
    return version.replace(":", "%3a")


def fetch_debian(name, version, cache):
    """Path of NAME_VERSION_*.deb in CACHE/debs, downloading it with apt-get if absent."""
    dest = os.path.join(cache, "debs")
    os.makedirs(dest, exist_ok=True)
    prefix = f"{name}_{_safe_name(version)}_"
    found = [f for f in os.listdir(dest) if f.startswith(prefix) and f.endswith(".deb")]
    if found:
        return os.path.join(dest, found[0])
    r = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=dest, capture_output=True, text=True)
    found = [f for f in os.listdir(dest) if f.startswith(prefix) and f.endswith(".deb")]
    if r.returncode or not found:
        raise FetchError(f"{name}={version}: apt-get download failed: {(r.stderr or r.stdout).strip()[-300:]}")
    return os.path.join(dest, found[0])


def unpack_deb(deb, cache):
    """dpkg-deb -x the package once into CACHE/unpacked/<deb name>; returns the directory."""
    out = os.path.join(cache, "unpacked", os.path.basename(deb)[:-4])
    if os.path.isdir(out):
        return out
    tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
    os.replace(tmp, out)
    return out


def _safe_member(m):
    return (m.isfile() or m.isdir()) and not (m.name.startswith("/") or ".." in m.name.split("/"))


def unpack_inner_tarballs(root, subdir="usr/src"):
    """Extract each *.tar.* found under root/subdir next to itself (into <tarball>.d); returns dirs."""
    dirs = []
    base = os.path.join(root, subdir)
    for dirpath, _, files in os.walk(base):
        for f in sorted(files):
            if ".tar" in f and not f.endswith(".d"):
                path = os.path.join(dirpath, f)
                out = path + ".d"
                if not os.path.isdir(out):
                    with tarfile.open(path) as t:
                        t.extractall(out + ".partial", members=[m for m in t.getmembers() if _safe_member(m)])
                    os.replace(out + ".partial", out)
                dirs.append(out)
    return dirs


def read_copyright(root, name):
    """Text of the package's debian/copyright as shipped, or None."""
    path = os.path.join(root, "usr", "share", "doc", name, "copyright")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def copyright_stanzas(text):
    """(files patterns, license short name) per stanza of a DEP-5 copyright file."""
    stanzas = []
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t"):
                if key:
                    fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip()] = value.strip()
        if "Files" in fields:
            stanzas.append((fields["Files"].split(), fields.get("License", "").splitlines()[0] if fields.get("License") else ""))
    return stanzas


if __name__ == "__main__":
    cache = sys.argv[1]
    for spec in sys.argv[2:]:
        name, version = spec.split("=", 1)
        deb = fetch_debian(name, version, cache)
        root = unpack_deb(deb, cache)
        print(name, version, deb, root, unpack_inner_tarballs(root))
