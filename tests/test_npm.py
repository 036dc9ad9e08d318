"""npm packages as corpus sources: the cache, unpacking, the license in package.json, and the
errors of a fetch that cannot work.

The tarballs are written here in npm's layout; npm itself only runs offline (npm's
`offline` setting, an empty npm cache), where it fails at once, or is not on the PATH at all.
"""
import os
import shutil

import pytest
from package_archives import make_tgz, tar_bytes, write

from model.data import npm
from model.data.packages import PackageError, Pin


def pin(name, version, **options):
    return Pin(name, version, (), "npm", tuple(sorted(options.items())))


def test_a_cached_tarball_is_used_as_is_and_unpacked_once(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    tgz = make_tgz(cache, "@scope/tiny", "1.2.3", {"license": "(BSD-3-Clause OR GPL-2.0)"},
                   {"src/index.js": "module.exports = 1;\n"})
    p = pin("@scope/tiny", "1.2.3")
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path / "empty"))  # no npm to call: a cache hit needs none
        assert npm.fetch(p, cache) == tgz and os.path.basename(tgz) == "scope-tiny-1.2.3.tgz"
    tree = npm.unpack(tgz, cache)
    assert tree.endswith(os.path.join("scope-tiny-1.2.3", "package"))
    assert os.path.isfile(os.path.join(tree, "src", "index.js"))
    assert npm.license_of(tree, p) == ("BSD", "package.json: (BSD-3-Clause OR GPL-2.0)")
    assert npm.source_root(tree, p) == tree
    assert npm.source_root(tree, pin("@scope/tiny", "1.2.3", root="src")) == os.path.join(tree, "src")
    with pytest.raises(PackageError, match="root=lib is not a directory of the package"):
        npm.source_root(tree, pin("@scope/tiny", "1.2.3", root="lib"))
    os.remove(os.path.join(tree, "src", "index.js"))
    assert npm.unpack(tgz, cache) == tree and not os.listdir(os.path.join(tree, "src"))


def test_a_tarball_with_another_top_directory_is_read_as_package(tmp_path):
    # Some old packages were packed from a directory named after them.
    path = write(str(tmp_path / "cache" / "npm" / "tarballs" / "old-0.1.0.tgz"),
                 tar_bytes({"old/package.json": '{"license": "MIT"}', "old/index.js": "exports.x = 1;\n"}))
    tree = npm.unpack(path, str(tmp_path / "cache"))
    assert sorted(os.listdir(tree)) == ["index.js", "package.json"]
    assert npm.license_of(tree, pin("old", "0.1.0")) == ("MIT", "package.json: MIT")


def test_licenses_that_are_not_permissive_or_not_said(tmp_path):
    cache = str(tmp_path / "cache")
    for name, meta in (("gpl-one", {"license": "GPL-3.0-only"}), ("no-license", {}),
                       ("both-needed", {"license": "MIT AND LGPL-2.1"})):
        make_tgz(cache, name, "1.0.0", meta)
        tree = npm.unpack(npm.fetch(pin(name, "1.0.0"), cache), cache)
        assert npm.license_of(tree, pin(name, "1.0.0"))[0] is None
    make_tgz(cache, "bad-json", "1.0.0", {}, {"package.json": "{not json"})  # replaces the one it writes
    tree = npm.unpack(npm.fetch(pin("bad-json", "1.0.0"), cache), cache)
    assert npm.license_of(tree, pin("bad-json", "1.0.0")) == (None, "package.json unreadable (JSONDecodeError)")


def test_a_corrupt_tarball_is_an_error_that_says_to_fetch_again(tmp_path):
    cache = str(tmp_path / "cache")
    tgz = make_tgz(cache, "broken", "1.0.0", {"license": "MIT"}, {"index.js": "x = 1;\n" * 500})
    with open(tgz, "r+b") as f:
        f.truncate(100)
    with pytest.raises(PackageError, match="cannot unpack .*delete it from the cache and fetch again"):
        npm.unpack(npm.fetch(pin("broken", "1.0.0"), cache), cache)
    assert not os.path.exists(os.path.join(cache, "npm", "unpacked", "broken-1.0.0"))


def test_fetch_without_npm_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PackageError, match=r"npm:left-pad@1\.3\.0: not in the cache .*npm is not installed"):
        npm.fetch(pin("left-pad", "1.3.0"), str(tmp_path / "cache"))


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_fetch_with_no_way_to_download_says_what_npm_said(tmp_path, monkeypatch):
    # npm's offline mode with an empty npm cache: what npm pack does without a network, at once.
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    with pytest.raises(PackageError, match=r"npm:left-pad@1\.3\.0: npm pack failed: code ENOTCACHED"):
        npm.fetch(pin("left-pad", "1.3.0"), str(tmp_path / "cache"))
    assert not os.listdir(tmp_path / "cache" / "npm" / "tarballs")
