"""Debian packages as corpus sources: the cache, unpacking with dpkg-deb (a *-source package's
tarball opened), where its sources are, its license, and the errors of a fetch that cannot work.

The .deb files are built here with dpkg-deb --build; apt-get only runs where it fails without
the network (a package no apt list names) or is not on the PATH at all.
"""
import os
import shutil

import pytest
from package_archives import dep5, make_deb

from model.data import debian
from model.data.packages import PackageError, Pin

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian's dpkg)")
C_CODE = "int add(int a, int b)\n{\n    return a + b;\n}\n"


def pin(name, version, **options):
    return Pin(name, version, (), "debian", tuple(sorted(options.items())))


def test_a_cached_deb_is_used_as_is_and_unpacked_once(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    deb = make_deb(cache, "lua-tiny", "1:1.0-2", dep5("Expat"), {"usr/share/lua/5.1/tiny.lua": "return {}\n"})
    p = pin("lua-tiny", "1:1.0-2")
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path / "empty"))  # no apt-get to call: a cache hit needs none
        assert debian.fetch(p, cache) == deb and deb.endswith("lua-tiny_1%3a1.0-2_all.deb")
    tree = debian.unpack(deb, cache)
    assert os.path.isfile(os.path.join(tree, "usr", "share", "lua", "5.1", "tiny.lua"))
    assert not os.path.exists(os.path.join(tree, "DEBIAN"))  # unpacked, not installed
    assert debian.source_root(tree, p) == tree
    assert debian.license_of(tree, p) == ("MIT", "usr/share/doc/lua-tiny/copyright: Files: * License: Expat")
    os.remove(os.path.join(tree, "usr", "share", "lua", "5.1", "tiny.lua"))
    assert debian.unpack(deb, cache) == tree and not os.listdir(os.path.join(tree, "usr", "share", "lua", "5.1"))


def test_a_source_package_is_read_from_its_tarballs_top_directory(tmp_path):
    cache = str(tmp_path / "cache")
    members = {"tiny-1.0/lib/add.c": C_CODE, "tiny-1.0/include/add.h": "int add(int, int);\n",
               "../escaped.c": C_CODE, "/abs.c": C_CODE}
    deb = make_deb(cache, "tiny-source", "1.0-1", dep5("BSD-3-clause"), source_tarball=("tiny-1.0.tar.xz", members))
    tree = debian.unpack(deb, cache)
    root = debian.source_root(tree, pin("tiny-source", "1.0-1"))
    assert root == os.path.join(tree, "usr", "src", "tiny-source", "tiny-1.0.tar.xz.d", "tiny-1.0")
    assert sorted(os.listdir(root)) == ["include", "lib"]
    opened = os.path.dirname(root)  # members that would land outside it were never extracted
    assert os.listdir(opened) == ["tiny-1.0"]
    assert sorted(os.listdir(os.path.dirname(opened))) == ["tiny-1.0.tar.xz", "tiny-1.0.tar.xz.d"]
    # root= names the directory instead (relative to the unpacked package), and must exist.
    assert debian.source_root(tree, pin("tiny-source", "1.0-1", root="usr/share/doc")) == os.path.join(
        tree, "usr", "share", "doc")
    with pytest.raises(PackageError, match="root=usr/nowhere is not a directory of the package"):
        debian.source_root(tree, pin("tiny-source", "1.0-1", root="usr/nowhere"))


def test_license_refusals_are_read_from_the_copyright_file(tmp_path):
    cache = str(tmp_path / "cache")
    for name, text in (("gpl-lua", dep5("GPL-2+")), ("no-copyright", None)):
        make_deb(cache, name, "1.0", text, {"usr/share/lua/5.1/x.lua": "return 1\n"})
    gpl = debian.unpack(debian.fetch(pin("gpl-lua", "1.0"), cache), cache)
    assert debian.license_of(gpl, pin("gpl-lua", "1.0")) == (
        None, "usr/share/doc/gpl-lua/copyright: Files: * License: GPL-2+")
    bare = debian.unpack(debian.fetch(pin("no-copyright", "1.0"), cache), cache)
    assert debian.license_of(bare, pin("no-copyright", "1.0"))[0] is None


def test_a_corrupt_deb_is_an_error_that_says_to_fetch_again(tmp_path):
    cache = str(tmp_path / "cache")
    deb = make_deb(cache, "broken", "1.0", dep5("MIT"))
    with open(deb, "r+b") as f:
        f.truncate(200)
    with pytest.raises(PackageError, match="cannot unpack .*delete it from the cache and fetch again"):
        debian.unpack(debian.fetch(pin("broken", "1.0"), cache), cache)
    assert not os.listdir(os.path.join(cache, "debian", "unpacked"))  # nothing half-unpacked left


def test_fetch_without_apt_get_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PackageError, match=r"debian:lua-cjson=2\.1\.0: not in the cache .*apt-get is not installed"):
        debian.fetch(pin("lua-cjson", "2.1.0"), str(tmp_path / "cache"))


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_fetch_of_a_package_no_apt_list_names_fails_at_once_naming_it(tmp_path):
    # apt-get looks the name up in its local lists first: no network is used, whatever it has.
    with pytest.raises(PackageError, match=r"debian:no-such-package-xyz=1\.0: apt-get download failed: E: "):
        debian.fetch(pin("no-such-package-xyz", "1.0"), str(tmp_path / "cache"))
    assert not os.listdir(tmp_path / "cache" / "debian" / "debs")
