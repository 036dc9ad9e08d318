"""Pinned Debian and npm packages into corpus sources: what each record says, the refusals (license,
a package no archive has, the unseen benchmark's), and the table a build prints.

The archives are real .deb and .tgz files made here and put in the cache; nothing is downloaded (apt-get
only looks up a name no apt list has, which needs no network)."""

import shutil

import pytest
from package_archives import dep5, make_deb, make_tgz, write

from model.data import packages, pinned

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian's dpkg)")
C_FILE = "#include <stddef.h>\n\nsize_t length_{i}(const char *s)\n{{\n    size_t n = 0;\n    while (s[n])\n" \
         "        n++;\n    return n + {i};\n}}\n"
GPL_C = "/* Licensed under the GNU General Public License, version 2. */\nint gpl_only(void) { return 2; }\n"


def c_source_package(cache):
    members = {f"tiny-2.0/lib/f{i}.c": C_FILE.format(i=i) for i in range(6)}
    members.update({"tiny-2.0/lib/gpl.c": GPL_C, "tiny-2.0/tests/t.c": C_FILE.format(i=99),
                    "tiny-2.0/contrib/other.c": C_FILE.format(i=98)})
    return make_deb(cache, "tiny-source", "2.0-1", dep5("BSD-3-clause"), source_tarball=("tiny-2.0.tar.xz", members))


def test_package_sources_records_each_package_and_takes_only_what_the_rules_allow(tmp_path, capsys):
    cache = str(tmp_path / "cache")
    c_source_package(cache)
    make_deb(cache, "gpl-source", "1.0", dep5("GPL-2+"), source_tarball=("gpl.tar.gz", {"gpl/x.c": C_FILE}))
    plist = write(str(tmp_path / "c.txt"), "language=c\ncap=1MB\n"
                  "debian:tiny-source=2.0-1 skip=contrib\ndebian:gpl-source=1.0\n"
                  "debian:no-such-package-xyz=1.0\ndebian:tiny-source-too=2.0-1 only=nowhere\n")
    make_deb(cache, "tiny-source-too", "2.0-1", dep5("MIT"), source_tarball=("t.tar.gz", {"t/a.c": "int a;\n"}))
    pins = packages.read_package_list(plist)
    pypi_roots, roots, files, records = pinned.package_sources(pins, cache, [], (".c", ".h"), progress=False)
    assert pypi_roots == [] and [label for label, _ in roots] == ["tiny-source"]
    assert sorted(rel for _, rel in files) == [f"tiny-source/lib/f{i}.c" for i in range(6)]
    tiny, gpl, missing, nowhere = records
    assert tiny["source"] == "debian" and tiny["license"] == "BSD"
    assert tiny["license_source"] == "usr/share/doc/tiny-source/copyright: Files: * License: BSD-3-clause"
    assert tiny["options"] == {"cap": 1_000_000, "skip": ("contrib",)}
    assert (tiny["found"], tiny["taken"]) == (9, 6)
    assert tiny["skipped"] == {"listed": 1, "excluded_dir": 1, "gnu_license": 1}
    assert gpl["refused"].startswith("license not known to be permissive: ") and "GPL-2+" in gpl["refused"]
    assert missing["refused"].startswith("debian:no-such-package-xyz=1.0: ")  # apt-get's words, or its absence
    assert nowhere["refused"].startswith("only=nowhere: ") and nowhere["license"] == "MIT"
    assert "refused debian:gpl-source=1.0: license not known to be permissive" in capsys.readouterr().err
    total = pinned.totals(records)
    assert (total["packages"], total["refused"], total["found"], total["taken"]) == (4, 3, 9, 6)
    assert total["skipped"] == tiny["skipped"]


def test_a_license_read_by_a_person_is_recorded_beside_what_the_package_says(tmp_path):
    cache = str(tmp_path / "cache")
    mixed = "Most of this is BSD.\n\nParts of this work are licensed under the GNU General Public License.\n"
    make_deb(cache, "mixed-source", "1.0", mixed, source_tarball=("m.tar.gz", {"m/bsd/a.c": C_FILE, "m/gpl/b.c": GPL_C}))
    plist = write(str(tmp_path / "c.txt"), "debian:mixed-source=1.0 only=bsd license=BSD-3-Clause\n")
    _, _, files, [record] = pinned.package_sources(packages.read_package_list(plist), cache, [], (".c",),
                                                   progress=False)
    assert [rel for _, rel in files] == ["mixed-source/bsd/a.c"]
    assert record["license"] == "BSD" and record["license_read"] is None
    assert record["license_source"].startswith("the package list: license=BSD-3-Clause; the package: usr/share/doc/")
    assert "names a GNU license" in record["license_source"]


def test_npm_packages_duplicates_across_packages_and_the_unseen_refusal(tmp_path):
    cache = str(tmp_path / "cache")
    code = {f"src/m{i}.js": f"export function f{i}(x) {{\n  return x + {i};\n}}\n" for i in range(4)}
    make_tgz(cache, "first", "1.0.0", {"license": "MIT"}, {**code, "dist/first.js": "var x=1;\n"})
    make_tgz(cache, "second", "2.0.0", {"license": "ISC"}, {"lib/copy.js": code["src/m0.js"], "lib/own.js": "x;\n"})
    make_tgz(cache, "benchmarked", "1.0.0", {"license": "MIT"}, code)
    plist = write(str(tmp_path / "js.txt"), "npm:first@1.0.0 only=src\nnpm:second@2.0.0\nnpm:benchmarked@1.0.0\n")
    unseen = [packages.Pin("benchmarked", "1.0.0", (), "npm")]
    _, roots, files, records = pinned.package_sources(packages.read_package_list(plist), cache, unseen, (".js",),
                                                      progress=False)
    assert [label for label, _ in roots] == ["first", "second"]
    assert sorted(rel for _, rel in files) == [*(f"first/src/m{i}.js" for i in range(4)), "second/lib/own.js"]
    assert records[1]["skipped"] == {"duplicate": 1} and records[2]["refused"] == "unseen-code benchmark package"
    table = pinned.table(records).splitlines()
    assert table[0].split()[:3] == ["package", "version", "license"]
    assert table[1].split()[:5] == ["first", "1.0.0", "MIT", "4", "/"]
    assert "REFUSED: unseen-code benchmark package" in table[3]
    assert table[-1].split()[:5] == ["total", "2", "taken", "1", "refused"]
    assert pinned.totals(records)["refused"] == 1
