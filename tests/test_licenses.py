"""Which licenses a corpus may take: SPDX expressions, Debian copyright files, package.json, and
files whose own header names a GNU license."""
import pytest
from package_archives import DEP5, dep5

from model.data import licenses


@pytest.mark.parametrize("text, expected", [
    ("MIT", "MIT"), ("Expat", "MIT"), ("MIT/X", "MIT"), ("BSD-2-clause", "BSD"), ("ISC", "ISC"),
    ("PostgreSQL", "PostgreSQL"), ("BSL-1.0", "BSL-1.0"), ("public-domain", "Unlicense/CC0"),
    ("(BSD-3-Clause OR GPL-2.0)", "BSD"), ("GPL-2.0 OR MIT", "MIT"), ("GPL2 or MIT", "MIT"),
    ("MIT AND Apache-2.0", "MIT AND Apache-2.0"), ("MIT AND LGPL-2.1", None),
    ("LGPL-2.1+ and GPL-2+", None), ("GPL-2+ with FLOSS exception", None),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0"),
    # Grouping is understood: an AND outside the parentheses needs both sides.
    ("(MIT OR GPL-2.0) AND LGPL-2.1", None), ("(MIT OR GPL-2.0) AND (BSD-3-Clause OR GPL-2.0)", "MIT AND BSD"),
    ("MIT AND (GPL-2.0 OR Apache-2.0)", "MIT AND Apache-2.0"),
    # Free text that is no expression reads as it always did.
    ("Apache License, Version 2.0", "Apache-2.0"), ("BSD (3 clause)", None), ("MIT (see LICENSE", None),
    ("MPL-2.0", None), ("", None),
])
def test_expression_takes_a_permissive_alternative_and_needs_every_part(text, expected):
    assert licenses.expression(text) == expected


def test_a_machine_readable_copyright_is_read_from_its_files_star_stanza():
    # Other stanzas (debian/*, a GPL helper script) do not decide: the package's code is Files: *.
    text = dep5("Expat", "Files: debian/*\nCopyright: 2021 Packager\nLicense: GPL-2+\n")
    assert licenses.debian_license(text) == ("MIT", "Files: * License: Expat")
    assert licenses.debian_license(dep5("LGPL-2.1+ and GPL-2+")) == (None, "Files: * License: LGPL-2.1+ and GPL-2+")
    assert licenses.debian_license(dep5("BSD-alike"))[0] is None
    no_star = DEP5.format(name="x") + "Files: src/*\nCopyright: x\nLicense: MIT\n"
    assert licenses.debian_license(no_star) == (None, "no Files: * stanza")
    # A License field with no short name: the license text itself (lua-logging's file).
    pasted = dep5("\n  Permission is hereby granted, free of charge, to any person obtaining a copy\n  .\n  THE END")
    assert licenses.debian_license(pasted) == ("MIT", "Files: * License: the MIT license text")


def test_a_free_form_copyright_is_read_from_its_license_text_and_refused_when_it_names_a_gnu_license():
    mit = "Upstream Author: A\n\nLicense:\n\n    Permission is hereby granted, free of charge, to any person\n"
    packaging = "\nThe Debian packaging is:\n\n    Copyright (C) 2009 B\n\nand is licensed under the GPL version 3.\n"
    assert licenses.debian_license(mit + packaging)[0] == "MIT"  # the packaging's GPL covers debian/ only
    mixed = ("The newlib subdirectory is a collection of software from several sources.\n\nParts of this work are "
             "licensed under the terms of the GNU General\nPublic License.\n\nRedistribution and use in source and "
             "binary forms are permitted\n")
    assert licenses.debian_license(mixed) == (None, "copyright (not machine-readable) names a GNU license")
    assert licenses.debian_license("Copyright 2001 Someone. All rights reserved.\n")[0] is None
    assert licenses.debian_license(None) == (None, "no copyright file")


@pytest.mark.parametrize("meta, expected", [
    ({"license": "MIT"}, ("MIT", "MIT")),
    ({"license": "(BSD-3-Clause OR GPL-2.0)"}, ("BSD", "(BSD-3-Clause OR GPL-2.0)")),
    ({"license": {"type": "ISC"}}, ("ISC", "ISC")),
    ({"licenses": [{"type": "GPL-2.0"}, {"type": "MIT"}]}, ("MIT", "(GPL-2.0) OR (MIT)")),
    ({"license": "SEE LICENSE IN LICENSE.md"}, (None, "SEE LICENSE IN LICENSE.md")),
    ({"license": "UNLICENSED"}, (None, "UNLICENSED")),  # npm's word for proprietary
    ({"name": "x"}, (None, "no license in package.json")),
    ({"license": 3}, (None, "no license in package.json")),
])
def test_npm_license_reads_license_then_licenses(meta, expected):
    assert licenses.npm_license(meta) == expected


@pytest.mark.parametrize("header, named", [
    ("/* This file is part of GNU libc.\n * under the terms of the GNU Lesser General Public\n * License. */\n", True),
    ("/*\n * Licensed under the GNU General\n * Public License version 2.\n */\n", True),  # wrapped over lines
    ("-- SPDX-License-Identifier: LGPL2.1\n", True),
    ("/* Copyright (c) 1990 The Regents of the University of California.\n * BSD license. */\n", False),
    ("// gpl is a variable name here, in lower case\nint gpl = 0;\n", False),
])
def test_gnu_header_finds_a_gnu_license_named_in_a_files_header(header, named):
    assert licenses.gnu_header(header + "int main(void) { return 0; }\n") is named


def test_gnu_header_reads_only_the_head():
    assert not licenses.gnu_header("int x;\n" * 2000 + "/* GPL */\n")
