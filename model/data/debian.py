"""Debian packages as corpus sources: download a pinned binary package with apt-get into a
cache, unpack it with dpkg-deb (never installed), and read its license.

    deb = fetch(pin, cache)      # CACHE/debian/debs/NAME_VERSION_ARCH.deb, apt-get download if absent
    tree = unpack(deb, cache)    # CACHE/debian/unpacked/NAME_VERSION_ARCH/ (a *-source package's
                                 # source tarball opened beside itself, into TARBALL.d/)
    source_root(tree, pin)       # where its source files are: root=, else the tarball's top directory
    license_of(tree, pin)        # (family or None, what it was read from): usr/share/doc/NAME/copyright

apt-get download is the only step that touches the network; a .deb already in the cache is used
as is. It reads the package lists apt-get update fetched (Debian 12 "bookworm" for the pinned
versions here), so a version no list names fails at once, without the network.
"""
import os
import shutil
import subprocess
import tarfile

from model.data.licenses import debian_license
from model.data.packages import PackageError, safe_member

TIMEOUT = 1800  # seconds for one apt-get download (the largest source packages are ~100 MB)


def _file_version(version):
    return version.replace(":", "%3a")  # apt-get writes an epoch's colon so


def _cached(dest, pin):
    prefix = f"{pin.name}_{_file_version(pin.version)}_"
    if not os.path.isdir(dest):
        return None
    found = sorted(f for f in os.listdir(dest) if f.startswith(prefix) and f.endswith(".deb"))
    return os.path.join(dest, found[0]) if found else None


def fetch(pin, cache):
    """Path of the pinned .deb in CACHE/debian/debs, downloading it with apt-get if absent."""
    dest = os.path.join(cache, "debian", "debs")
    found = _cached(dest, pin)
    if found:
        return found
    os.makedirs(dest, exist_ok=True)
    try:
        r = subprocess.run(["apt-get", "download", f"{pin.name}={pin.version}"], cwd=dest, check=False,
                           capture_output=True, text=True, timeout=TIMEOUT)
    except FileNotFoundError:
        raise PackageError(f"{pin.spec}: not in the cache ({dest}) and apt-get is not installed to download it; "
                           f"put its .deb there or run on Debian") from None
    except subprocess.TimeoutExpired:
        raise PackageError(f"{pin.spec}: apt-get download took over {TIMEOUT} s; is the network down?") from None
    found = _cached(dest, pin)
    if r.returncode or not found:
        said = [line for line in (r.stderr + r.stdout).splitlines() if line.startswith(("E:", "W:", "Err"))]
        reason = "; ".join(said[-3:]) or (r.stderr or r.stdout).strip()[-300:] or f"exit status {r.returncode}"
        raise PackageError(f"{pin.spec}: apt-get download failed: {reason}")
    return found


def unpack(deb, cache):
    """dpkg-deb -x the package once into CACHE/debian/unpacked/<its file name>; returns the tree.
    A *-source package's tarballs under usr/src are opened there too (into TARBALL.d/)."""
    name = os.path.basename(deb)[:-len(".deb")]
    dest = os.path.join(cache, "debian", "unpacked", name)
    if os.path.isdir(dest):
        return dest
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        r = subprocess.run(["dpkg-deb", "-x", deb, tmp], check=False, capture_output=True, text=True)
    except FileNotFoundError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{deb}: dpkg-deb is not installed to unpack it") from None
    if r.returncode:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{deb}: cannot unpack ({r.stderr.strip()[-300:]}); delete it from the cache and fetch again")
    if name.split("_")[0].endswith("-source"):
        for tarball in _tarballs(os.path.join(tmp, "usr", "src")):
            _open_tarball(tarball, deb)
    os.replace(tmp, dest)
    return dest


def _tarballs(top):
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not (d.endswith(".d") and d[:-2] in filenames))  # opened
        found += [os.path.join(dirpath, f) for f in sorted(filenames) if ".tar" in f or f.endswith(".tgz")]
    return found


def _open_tarball(path, deb):
    try:
        with tarfile.open(path) as t:
            members = [m for m in t.getmembers() if (m.isfile() or m.isdir()) and safe_member(m.name)]
            t.extractall(path + ".d", members=members, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise PackageError(f"{deb}: its {os.path.basename(path)} cannot be opened ({e}); "
                           f"delete the .deb from the cache and fetch again") from e


def source_root(tree, pin):
    """The directory whose files the corpus reads: the pin's root= (relative to the unpacked
    package); else, for a *-source package, its one source tarball's one top directory; else the
    whole package."""
    root = pin.option("root")
    if root:
        path = os.path.join(tree, root)
        if not os.path.isdir(path):
            raise PackageError(f"{pin.spec}: root={root} is not a directory of the package")
        return path
    opened = [t + ".d" for t in _tarballs(os.path.join(tree, "usr", "src")) if os.path.isdir(t + ".d")]
    if len(opened) > 1:
        raise PackageError(f"{pin.spec}: ships {len(opened)} source tarballs; say which to read with root=")
    if opened:
        tops = os.listdir(opened[0])
        return os.path.join(opened[0], tops[0]) if len(tops) == 1 else opened[0]
    return tree


def license_of(tree, pin):
    """(family or None, what it was read from) from the package's usr/share/doc/NAME/copyright."""
    path = os.path.join(tree, "usr", "share", "doc", pin.name, "copyright")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = None
    family, said = debian_license(text)
    return family, f"usr/share/doc/{pin.name}/copyright: {said}"
