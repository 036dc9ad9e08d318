"""Write model/sources/{c,javascript,lua}.txt (pinned lists, kept packages only) from the
filter stats in lang-work/filtered/<language>-stats.json.

    python write_sources.py DEST_DIR
"""
import json
import os
import sys

HEADERS = {
    "c": """# The C corpus's third-party sources (first corpus, 2026-12-02; built by lang-work/scripts/build_c.py).
# Format: one `debian:NAME=VERSION` a line: a Debian 12 (bookworm) binary package pinned by exact
# version, fetched with `apt-get download NAME=VERSION` and unpacked with `dpkg-deb -x` (never
# installed); the *-source packages ship a source tarball under usr/src, which is opened. Only
# .c/.h files are read.
# Permissive licenses only (BSD/MIT/Apache-2.0/ISC/zlib-like/PostgreSQL), read from the package's
# usr/share/doc/NAME/copyright; GPL/LGPL/AGPL packages are refused (e.g. the Linux kernel, glibc,
# binutils, gcc), and so is any single file whose header names a GNU license. At most 15 MB of raw
# source a package. Which subdirectories are taken, and why, is in build_c.py and lang-work/NOTES.md.
""",
    "javascript": """# The JavaScript corpus's third-party sources (first corpus, 2026-12-02; built by lang-work/scripts/build_js.py).
# Format: one `npm:NAME@VERSION` a line: an npm package pinned by exact version, fetched with
# `npm pack NAME@VERSION` (a tarball; never installed, no dependencies). Only .js files are read
# (.ts, not .d.ts, are collected apart for a later TypeScript corpus).
# Permissive licenses only (MIT/BSD/ISC/Apache-2.0), read from the package.json "license" field
# (for an OR expression, a permissive alternative is taken). Hand-written source only: dist/,
# build/, umd/, vendored node_modules/, test and fixture dirs, *.min.js, minified files (a line
# over 500 chars or a mean line over 200) and files saying they are generated are skipped. At most
# 3 MB of raw source a package. Subdirectories taken per package: build_js.py and lang-work/NOTES.md.
""",
    "lua": """# The Lua corpus's third-party sources (first corpus, 2026-12-02; built by lang-work/scripts/build_lua.py).
# Format: one `debian:NAME=VERSION` a line: a Debian 12 (bookworm) binary package pinned by exact
# version, fetched with `apt-get download NAME=VERSION` and unpacked with `dpkg-deb -x` (never
# installed); the .lua files it ships are read.
# Permissive licenses only (MIT/Expat, BSD, ISC, Apache-2.0), read from the `Files: *` stanza of
# usr/share/doc/NAME/copyright; GPL/LGPL packages are refused, and so is any single file whose
# header names a GNU license. Refused packages are listed at the end as comments.
""",
}


def write(language, dest):
    with open(f"lang-work/filtered/{language}-stats.json") as f:
        stats = json.load(f)
    prefix = "npm:{label}@{version}" if language == "javascript" else "debian:{label}={version}"
    lines = [HEADERS[language]]
    refused = []
    for st in stats:
        if "refused" in st:
            refused.append(f"# refused {prefix.format(**st)}: {st['refused']}")
        elif st.get("kept"):
            lines.append(prefix.format(**st) + f"  # {st['license']}")
        else:
            refused.append(f"# no files left by the rules: {prefix.format(**st)} ({st['license']}; ships only dist/ bundles or compiled output)")
    text = "\n".join(lines) + "\n" + ("\n" + "\n".join(refused) + "\n" if refused else "")
    with open(os.path.join(dest, f"{language}.txt"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    for language in ("c", "javascript", "lua"):
        write(language, sys.argv[1])
