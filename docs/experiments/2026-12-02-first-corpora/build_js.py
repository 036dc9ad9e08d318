"""Fetch and filter the JavaScript packages (pinned in model/sources/javascript.txt) into
lang-work/filtered/javascript (.js) and lang-work/filtered/typescript (.ts, not .d.ts; not
used by the first corpus)."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetch_npm import fetch_npm, read_license, unpack_npm  # noqa: E402
from filter import filter_package  # noqa: E402

CACHE = "lang-work/cache/npm"
OUT = "lang-work/filtered/javascript"
OUT_TS = "lang-work/filtered/typescript"
CAP = 3_000_000
# name, version, subdirs holding the hand-written source (None: the whole package), excluded prefixes
PACKAGES = [
    ("lodash", "4.18.1", None, ("fp/",)),          # fp/ is generated wrappers
    ("express", "5.3.0", None, ()),
    ("koa", "3.3.0", None, ()),
    ("body-parser", "2.4.0", None, ()),
    ("qs", "6.17.1", None, ()),
    ("ws", "8.23.1", None, ()),
    ("axios", "1.21.1", None, ()),
    ("escodegen", "2.1.0", None, ()),
    ("estraverse", "5.3.0", None, ()),
    ("chalk", "6.0.1", None, ()),
    ("commander", "15.1.0", None, ()),
    ("minimist", "1.2.8", None, ()),
    ("moment", "2.31.0", ["src"], ()),            # moment.js, locale/, min/ are built from src/
    ("underscore", "1.13.8", ["modules"], ()),    # cjs/, amd/ and the root bundles are built from modules/
    ("jquery", "4.0.0", ["src"], ()),
    ("three", "0.187.0", ["src", "examples/jsm"], ()),
    ("d3-array", "3.2.5", None, ()),             # ships dist/ bundles only
    ("d3-scale", "4.0.3", None, ()),
    ("d3-shape", "3.2.1", None, ()),
    ("eslint", "10.16.0", None, ()),
    ("webpack", "5.113.0", ["lib", "hot", "bin"], ()),  # schemas/ is generated
    ("mocha", "12.0.3", None, ()),
    ("handlebars", "4.7.10", ["lib", "bin"], ()),
    ("uglify-js", "3.19.3", None, ()),
    ("terser", "5.51.4", None, ()),
    ("leaflet", "1.9.4", ["src"], ()),
    ("codemirror", "5.65.21", ["src", "mode", "addon", "keymap"], ()),  # lib/codemirror.js is the bundle
    ("pug", "3.0.4", None, ()),
    ("ejs", "7.0.2", None, ()),
    ("semver", "7.8.6", None, ()),
    ("js-yaml", "5.5.0", None, ()),
    ("debug", "4.4.3", None, ()),
    ("grunt", "1.6.3", None, ()),
    ("bootstrap", "5.3.9", ["js/src"], ()),
    ("luxon", "3.7.2", ["src"], ()),
    ("jshint", "2.13.6", ["src"], ()),            # data/ holds generated tables
    ("node-forge", "1.4.4", None, ()),
    ("acorn", "8.19.0", None, ()),
    ("rxjs", "7.8.2", None, ()),                 # dist/ is compiled; src/ is TypeScript
]

if __name__ == "__main__":
    for d in (OUT, OUT_TS):
        shutil.rmtree(d, ignore_errors=True)
    seen, seen_ts, stats = set(), set(), []
    for name, version, include, extra in PACKAGES:
        root = unpack_npm(fetch_npm(name, version, CACHE), CACHE)
        declared, spdx = read_license(root)
        st = {"label": name, "version": version, "license": declared, "license_source": "package.json"}
        if spdx is None:
            st["refused"] = f"license not permissive: {declared}"
        else:
            st.update(filter_package(name, root, {".js"}, OUT, seen, include=include, cap=CAP, extra_exclude=extra))
            st["typescript"] = filter_package(name, root, {".ts"}, OUT_TS, seen_ts, include=include, cap=CAP,
                                              extra_exclude=extra)
        st["label"] = name
        stats.append(st)
        print(json.dumps({k: v for k, v in st.items() if k != "typescript"}), flush=True)
    with open("lang-work/filtered/javascript-stats.json", "w") as f:
        json.dump(stats, f, indent=1)
