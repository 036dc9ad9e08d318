"""Real Debian and npm package archives made by the tests, put in a cache where model.data.debian
and model.data.npm would have downloaded them, so nothing is fetched.

make_deb() builds a .deb with dpkg-deb --build from a tree holding DEBIAN/control,
usr/share/doc/NAME/copyright and the given files (a `*-source` package can ship its sources as a
tarball under usr/src); make_tgz() writes a tarball in npm's layout (package/package.json, ...).
"""
import io
import json
import os
import subprocess
import tarfile

DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {name}\n\n"


def dep5(license_name, extra=""):
    """A machine-readable copyright file whose Files: * stanza has this License."""
    return (DEP5.format(name="x") + f"Files: *\nCopyright: 2020 Someone\nLicense: {license_name}\n\n" + extra)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return path


def make_deb(cache, name, version, copyright_text, files=None, source_tarball=None, work=None):
    """A real .deb at CACHE/debian/debs/NAME_VERSION_all.deb. files: {path in the package: text};
    source_tarball: (tarball name under usr/src/NAME/, {path inside the tarball: text})."""
    work = work or os.path.join(cache, "..", "deb-trees")
    tree = os.path.join(work, f"{name}_{version}")
    write(os.path.join(tree, "DEBIAN", "control"),
          f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Tests <tests@example.org>\n"
          f"Description: a package made by the tests\n")
    if copyright_text is not None:
        write(os.path.join(tree, "usr", "share", "doc", name, "copyright"), copyright_text)
    for path, text in (files or {}).items():
        write(os.path.join(tree, path), text)
    if source_tarball:
        tar_name, members = source_tarball
        write(os.path.join(tree, "usr", "src", name, tar_name), tar_bytes(members, tar_name))
    debs = os.path.join(cache, "debian", "debs")
    os.makedirs(debs, exist_ok=True)
    deb = os.path.join(debs, f"{name}_{version.replace(':', '%3a')}_all.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", tree, deb], check=True, capture_output=True)
    return deb


def tar_bytes(members, name="x.tar.gz"):
    """A tarball's bytes holding {path: text} (compressed as its name says)."""
    mode = "w:xz" if name.endswith(".xz") else "w:gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as t:
        for path, text in members.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_tgz(cache, name, version, package_json, files=None):
    """A tarball in npm's layout at CACHE/npm/tarballs/, named as `npm pack` names it."""
    members = {"package/package.json": json.dumps({"name": name, "version": version, **package_json})}
    members.update({f"package/{path}": text for path, text in (files or {}).items()})
    path = os.path.join(cache, "npm", "tarballs", f"{name.lstrip('@').replace('/', '-')}-{version}.tgz")
    return write(path, tar_bytes(members))
