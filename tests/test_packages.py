"""Pinned package lists, the package cache, licenses, and how the corpus builder uses them.

The wheels here are made by the tests (a zip with a dist-info METADATA and a module), put in
the cache where pip would have saved them; pip itself only runs offline, to fail.
"""
import json
import os
import re
import zipfile

import pytest

from model.data import corpus, packages
from model.data.packages import PackageError, Pin


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def make_wheel(cache, name, version, license_field="MIT", files=None, classifiers=()):
    """Put a wheel in the cache exactly where packages.fetch() would have downloaded it."""
    key = packages.normalize(name)
    dest = os.path.join(cache, "archives", f"{key}-{version}")
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, f"{key.replace('-', '_')}-{version}-py3-none-any.whl")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if license_field:
        meta += f"License: {license_field}\n"
    meta += "".join(f"Classifier: {c}\n" for c in classifiers)
    files = files or {f"{key.replace('-', '_')}/__init__.py": f"def {key.replace('-', '_')}_main(argv):\n    return len(argv)\n"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{key.replace('-', '_')}-{version}.dist-info/METADATA", meta)
        for member, text in files.items():
            z.writestr(member, text)
    return path


def test_package_list_parsing(tmp_path):
    path = write(str(tmp_path / "list.txt"), "# a comment\n\nrequests==2.34.2\npython-dateutil==2.9.0 dateutil  # why\n"
                                              "Zope.Interface==8.7\n")
    pins = packages.read_package_list(path)
    assert pins == [Pin("requests", "2.34.2"), Pin("python-dateutil", "2.9.0", ("dateutil",)), Pin("Zope.Interface", "8.7")]
    assert pins[0].import_names == ("requests",)
    assert pins[1].import_names == ("dateutil",)
    assert pins[2].key == "zope-interface"


@pytest.mark.parametrize("line", ["requests", "requests>=2", "requests==", "==1.0", "requests==1.0 2bad"])
def test_package_list_refuses_a_malformed_line_naming_it(tmp_path, line):
    path = write(str(tmp_path / "list.txt"), f"flask==3.1.3\n{line}\n")
    with pytest.raises(PackageError, match=r"list\.txt:2: expected 'name==version"):
        packages.read_package_list(path)


def test_package_list_refuses_a_package_pinned_twice(tmp_path):
    path = write(str(tmp_path / "list.txt"), "Flask==3.1.3\nflask==3.1.2\n")
    with pytest.raises(PackageError, match="already pinned on line 1"):
        packages.read_package_list(path)


def test_debian_and_npm_pins_with_their_options_and_the_lists_settings(tmp_path):
    path = write(str(tmp_path / "list.txt"), """# comment
language=c
cap=15MB
debian:newlib-source=3.3.0-1.3+deb12u1 only=newlib,libgloss skip=newlib/libc/sys/linux/ license=BSD  # why
debian:xorg-server-source=2:21.1.7-3+deb12u13 cap=2.5MB
npm:@babel/core@7.24.0 root=lib
npm:lodash@4.18.1
""")
    newlib, xorg, babel, lodash = packages.read_package_list(path)
    assert (newlib.source, newlib.name, newlib.version) == ("debian", "newlib-source", "3.3.0-1.3+deb12u1")
    assert newlib.option("only") == ("newlib", "libgloss") and newlib.option("skip") == ("newlib/libc/sys/linux",)
    assert newlib.option("license") == "BSD" and newlib.option("cap") == 15_000_000
    assert newlib.option("language") == "c" and newlib.spec == "debian:newlib-source=3.3.0-1.3+deb12u1"
    assert xorg.version == "2:21.1.7-3+deb12u13" and xorg.option("cap") == 2_500_000  # its own wins
    assert (babel.source, babel.name, babel.key, babel.option("root")) == ("npm", "@babel/core", "@babel+core", "lib")
    assert babel.spec == "npm:@babel/core@7.24.0" and babel.import_names == ()
    assert lodash.option("only") is None and lodash.option("cap") == 15_000_000


@pytest.mark.parametrize("line, message", [
    ("debian:lua-cjson", "expected 'debian:NAME=VERSION"), ("debian:lua-cjson=", "expected 'debian:NAME=VERSION"),
    ("debian:Lua_Cjson=1.0", "expected 'debian:NAME=VERSION"), ("npm:lodash", "expected 'npm:NAME@VERSION"),
    ("npm:lodash@^4.0.0", "expected 'npm:NAME@VERSION"), ("npm:lodash@latest", "expected 'npm:NAME@VERSION"),
    ("npm:lodash@4.18.1 src", "expected 'npm:NAME@VERSION"), ("pypi:flask==3.1.3", "expected 'name==version"),
    ("npm:lodash@4.18.1 depth=2", "unknown option 'depth' here"),
    ("npm:lodash@4.18.1 cap=lots", "cap=lots: expected a size"), ("npm:lodash@4.18.1 cap=0MB", "expected a size"),
    ("npm:lodash@4.18.1 only=../up", "expected paths inside the package"),
    ("npm:lodash@4.18.1 skip=src,,lib", "expected paths inside the package"),
    ("npm:lodash@4.18.1 license=GPL-2.0", "not a permissive license; leave the package out"),
    ("npm:lodash@4.18.1 language=c", "unknown option 'language' here"),
    ("language=cobol", "language=cobol: not one of python, c"), ("only=src", "unknown option 'only' here"),
])
def test_a_malformed_debian_or_npm_line_is_refused_naming_it(tmp_path, line, message):
    path = write(str(tmp_path / "list.txt"), f"npm:koa@3.3.0\n{line}\n")
    with pytest.raises(PackageError, match=rf"list\.txt:2: .*{re.escape(message)}"):
        packages.read_package_list(path)


def test_pins_are_unique_per_source_and_pypi_takes_no_package_settings(tmp_path):
    twice = write(str(tmp_path / "twice.txt"), "npm:koa@3.3.0\ndebian:koa=1.0\nnpm:koa@3.2.0\n")
    with pytest.raises(PackageError, match="twice.txt:3: koa is already pinned on line 1"):
        packages.read_package_list(twice)
    mixed = write(str(tmp_path / "mixed.txt"), "cap=3MB\nflask==3.1.3\n")
    with pytest.raises(PackageError, match="mixed.txt:2: cap set for the list applies to debian: and npm:"):
        packages.read_package_list(mixed)
    python = write(str(tmp_path / "python.txt"), "language=python\nflask==3.1.3\n")
    assert packages.read_package_list(python)[0].option("language") == "python"


def test_the_shipped_lists_parse_and_never_overlap():
    unseen = packages.unseen_pins()
    assert len(unseen) >= 7
    training = packages.read_package_list(os.path.join(packages.SOURCES_DIR, "python.txt"))
    assert len(training) >= 150
    assert not {p.key for p in unseen} & {p.key for p in training}
    assert all(p.source == "pypi" and p.options == () for p in training)
    for language, source in (("c", "debian"), ("javascript", "npm"), ("typescript", "npm"), ("lua", "debian")):
        pins = packages.read_package_list(os.path.join(packages.SOURCES_DIR, f"{language}.txt"))
        assert pins and {(p.source, p.option("language")) for p in pins} == {(source, language)}


@pytest.mark.parametrize("declared, expected", [
    ("MIT", "MIT"), ("MIT License", "MIT"), ("BSD-3-Clause", "BSD"), ("3-Clause BSD License", "BSD"),
    ("Apache 2.0 License", "Apache-2.0"), ("Apache License, Version 2.0", "Apache-2.0"), ("PSF-2.0", "PSF-2.0"),
    ("MIT OR AFL-2.1", "MIT"), ("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "BSD AND MIT AND Zlib AND Unlicense/CC0"), ("Apache-2.0 OR BSD-2-Clause", "Apache-2.0"), ("ISC", "ISC"),
    ("MPL-2.0", None), ("MPL-2.0 AND MIT", None), ("GPL-2.0-or-later", None), ("LGPL-2.1", None),
    ("LicenseRef-Proprietary", None), ("Dual License", None),
])
def test_license_of_a_license_field(declared, expected):
    meta = packages.email.parser.Parser().parsestr(f"Name: x\nLicense: {declared}\n")
    assert packages.license_of(meta)[0] == expected


def test_license_from_classifiers_and_pasted_texts():
    parse = packages.email.parser.Parser().parsestr
    assert packages.license_of(parse("Name: x\nClassifier: License :: OSI Approved :: BSD License\n"))[0] == "BSD"
    mixed = "Name: x\nClassifier: License :: OSI Approved :: BSD License\nClassifier: License :: OSI Approved :: GNU General Public License (GPL)\n"
    assert packages.license_of(parse(mixed))[0] is None
    assert packages.license_of(parse("Name: x\n"))[0] is None
    pasted = "Name: x\nLicense: Copyright (c) 2020 Someone\n        \n        Permission is hereby granted, free of charge, to any person\n"
    assert packages.license_of(parse(pasted))[0] == "MIT"
    assert packages.license_of(None) == (None, "no metadata")


def test_fetch_uses_the_cache_without_pip(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    wheel = make_wheel(cache, "tinypkg", "1.0")
    monkeypatch.setattr(packages.subprocess, "run", lambda *a, **k: pytest.fail("pip ran on a cache hit"))
    assert packages.fetch(Pin("tinypkg", "1.0"), cache) == wheel
    unpacked = packages.unpack(wheel, cache)
    assert os.path.isfile(os.path.join(unpacked, "tinypkg", "__init__.py"))
    assert packages.license_of(packages.metadata(unpacked))[0] == "MIT"
    assert packages.unpack(wheel, cache) == unpacked  # unpacked once


def test_fetch_of_an_unknown_package_raises_naming_it(tmp_path, monkeypatch):
    # pip offline, with nowhere to look: it fails at once, as for a name no index has.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(PackageError, match="no-such-package-xyz==0.1: pip could not fetch it"):
        packages.fetch(Pin("no-such-package-xyz", "0.1"), str(tmp_path / "cache"))
    assert not os.listdir(os.path.join(tmp_path, "cache", "archives"))


def test_unpack_never_writes_outside_the_cache(tmp_path):
    archive = str(tmp_path / "evil-1.0-py3-none-any.whl")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escaped.py", "x = 1\n")
        z.writestr("evil/__init__.py", "y = 2\n")
    unpacked = packages.unpack(archive, str(tmp_path / "cache"))
    assert not os.path.exists(tmp_path / "cache" / "unpacked" / "escaped.py")
    assert os.path.isfile(os.path.join(unpacked, "evil", "__init__.py"))


def test_corpus_from_a_package_list_keeps_licensed_packages_and_records_refusals(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    body = "".join(f"def handler_{i}(request, value):\n    return request.get(value) + {i}\n\n\n" for i in range(40))
    make_wheel(cache, "goodpkg", "1.0", "MIT", {f"goodpkg/m{i}.py": body.replace("handler", f"h{i}") for i in range(12)})
    make_wheel(cache, "gplpkg", "2.0", "GPL-3.0-only")
    # A training package vendoring a benchmark package (rich): its copy must not get in.
    make_wheel(cache, "vendorer", "1.0", "", {"vendorer/core.py": body, "vendorer/_vendor/rich/console.py": body + "x = 1\n"},
               classifiers=["License :: OSI Approved :: Apache Software License"])
    plist = write(str(tmp_path / "list.txt"), "goodpkg==1.0\ngplpkg==2.0\nrich==15.0.0\nghost-pkg==0.0.1\nvendorer==1.0\n")
    out = str(tmp_path / "corpus")
    corpus.main(["--out", out, "--packages", plist, "--cache", cache, "--test", "0.2", "--val", "0.2"])
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    records = {r["name"]: r for r in manifest["packages"]}
    assert records["goodpkg"]["license"] == "MIT" and "refused" not in records["goodpkg"]
    assert records["goodpkg"]["files"] == 12 and records["goodpkg"]["chars"] > 0
    assert records["vendorer"]["license"] == "Apache-2.0"
    assert "permissive" in records["gplpkg"]["refused"] and "GPL-3.0-only" in records["gplpkg"]["refused"]
    assert records["rich"]["refused"] == "unseen-code benchmark package"
    assert "pip could not fetch it" in records["ghost-pkg"]["refused"]
    assert manifest["files"]["unseen_package"] == 1  # vendorer/_vendor/rich/console.py
    assert "rich" in manifest["refused_imports"]
    text = ""
    for split in ("train", "val", "test"):
        with open(os.path.join(out, f"{split}.txt")) as f:
            text += f.read()
    assert "x = 1" not in text and "gplpkg_main" not in text and "h11_" in text


def test_max_package_chars_caps_each_package_in_hash_order(tmp_path):
    body = "".join(f"value_{i} = compute({i})\n" for i in range(50))
    roots = []
    for name in ("big", "small"):
        for i in range(20 if name == "big" else 2):
            write(str(tmp_path / name / f"f{i}.py"), body.replace("value", f"{name}{i}"))
        roots.append((name, str(tmp_path / name)))
    records = [{"name": "big", "label": "big"}, {"name": "small", "label": "small"}]
    m = corpus.build_corpus(str(tmp_path / "out"), roots, max_package_chars=5 * len(body) + 100,
                            packages=records, progress=False)
    assert records[0]["files"] == 5 and records[1]["files"] == 2
    assert m["files"]["over_package_cap"] == 15 and m["files"]["kept"] == 7


def test_vendored_copies_are_dropped_as_duplicates(tmp_path):
    code = "def shared_helper(a, b):\n    return a * b + 1\n"
    write(str(tmp_path / "one" / "util.py"), code)
    for i in range(3):  # a corpus needs a file for each split
        write(str(tmp_path / "one" / f"m{i}.py"), f"value_{i} = {i}\n")
    write(str(tmp_path / "two" / "_vendor" / "one" / "util.py"), "# vendored\n" + code)
    m = corpus.build_corpus(str(tmp_path / "out"), [("one", str(tmp_path / "one")), ("two", str(tmp_path / "two"))],
                            progress=False)
    assert m["files"]["duplicate"] == 1 and m["files"]["kept"] == 4


@pytest.mark.parametrize("name, text, reason", [
    ("api_pb2.py", "x = 1\n", "generated"),
    ("tables.py", "# Generated by make_tables.py. DO NOT EDIT.\nx = 1\n", "generated"),
    ("bundle.min.js", "var a=1;\n", "minified"),
    ("packed.js", "var a=1;" * 400, "minified"),
    ("handwritten.py", "def f():\n    return 1\n" * 200, None),
])
def test_generated_and_minified_files_are_recognised(name, text, reason):
    assert corpus.generated_or_minified(name, text) == reason
