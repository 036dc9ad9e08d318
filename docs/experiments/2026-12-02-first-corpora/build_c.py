"""Filter the C packages (pinned in model/sources/c.txt) into lang-work/filtered/c."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetch_debian import fetch_debian, unpack_deb, unpack_inner_tarballs  # noqa: E402
from filter import filter_package  # noqa: E402

CACHE = "lang-work/cache/debian"
OUT = "lang-work/filtered/c"
CAP = 15_000_000
# name, version, source dir inside the unpacked package, subdirs to take (None: all), extra excluded prefixes
PACKAGES = [
    ("newlib-source", "3.3.0-1.3+deb12u1", "usr/src/newlib/newlib-3.3.0.tar.xz.d/newlib-salsa", ["newlib", "libgloss"],
     # LGPL for *-linux targets (glibc/linuxthreads-derived, many files without a header) and
     # GPL-with-exception libgloss targets, per the package copyright and COPYING.LIBGLOSS (16)
     ("newlib/libc/sys/linux/", "libgloss/sparc_leon/", "libgloss/crx/", "libgloss/cr16/")),
    ("openvswitch-source", "3.1.0-2+deb12u1", "usr/src/openvswitch/openvswitch.tar.gz.d/openvswitch", None, ()),
    ("xorg-server-source", "2:21.1.7-3+deb12u13", "usr/src/xorg-server.tar.xz.d/xorg-server", None, ()),
    ("pocl-source", "3.1-3+deb12u1", "usr/src/pocl.tar.xz.d/pocl", None, ("examples/",)),
    ("postgresql-server-dev-15", "15.20-0+deb12u1", "usr/include/postgresql/15/server", None, ()),
]

# The license as read in usr/share/doc/NAME/copyright (the main code's; per-file GNU headers are dropped).
LICENSES = {
    "newlib-source": "BSD-like (Red Hat BSD default and per-file BSD/MIT-style notices); its GPL/LGPL "
                     "parts are left out: newlib/libc/sys/linux, libgloss sparc_leon/crx/cr16, files with GNU headers",
    "openvswitch-source": "Apache-2.0 (Files: *; a few BSD/ISC files; LGPL-2.1 bugtool scripts are not C)",
    "xorg-server-source": "MIT/X11 (X.Org standard license and MIT-style variants)",
    "pocl-source": "Expat (Files: *); lib/kernel/sleef Boost-1.0; include/CL Khronos MIT-style",
    "postgresql-server-dev-15": "PostgreSQL (MIT-like; Files: *), a few BSD-3/BSD-2 files",
}

if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    seen, stats = set(), []
    for name, version, src, include, extra in PACKAGES:
        root = unpack_deb(fetch_debian(name, version, CACHE), CACHE)
        unpack_inner_tarballs(root)
        st = filter_package(name, os.path.join(root, src), {".c", ".h"}, OUT, seen, include=include,
                            check_gpl=True, cap=CAP, extra_exclude=extra)
        st["version"] = version
        st["license"] = LICENSES[name]
        st["license_source"] = f"usr/share/doc/{name}/copyright"
        stats.append(st)
        print(json.dumps(st), flush=True)
    with open("lang-work/filtered/c-stats.json", "w") as f:
        json.dump(stats, f, indent=1)
