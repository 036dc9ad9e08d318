"""Fetch and filter the Lua packages (pinned in model/sources/lua.txt) into lang-work/filtered/lua.

Debian binary packages (apt-get download, never installed) whose .lua files are the package's own
code; the license is the `Files: *` stanza of usr/share/doc/NAME/copyright (or its whole text
where it is not machine-readable); files whose own header names a GNU license are dropped too.
"""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetch_debian import copyright_stanzas, fetch_debian, read_copyright, unpack_deb  # noqa: E402
from filter import filter_package  # noqa: E402

CACHE = "lang-work/cache/debian"
OUT = "lang-work/filtered/lua"
PERMISSIVE_DEBIAN = re.compile(r"^(expat|mit(/x)?|bsd-[23]-clause|isc|apache(-2\.0)?|public-domain|zlib)$", re.I)

# (name, version); refused ones carry the reason decided by reading their copyright file.
PACKAGES = [line.split("=", 1) for line in """
lua-ansicolors=1.0.2-3
lua-argparse=0.7.1-2
lua-basexx=0.3-2.1
lua-binaryheap=0.4-2
lua-busted=2.1.1-1
lua-cgi=5.2~alpha2-2
lua-cjson=2.1.0+dfsg-2.2
lua-cliargs=3.0-2-5
lua-compat53=0.7-2
lua-copas=1.2.0-2
lua-cosmo=13.01.30-3
lua-coxpcall=1.17.0-1
lua-cqueues=20200726-1+b1
lua-curses=1:9.0.0-2+b1
lua-dbi-common=0.7.2-4
lua-dkjson=2.6-2
lua-expat=1.5.1-3
lua-fifo=0.2-3.1
lua-http=0.4-1
lua-iconv=7-3+b1
lua-inifile=1.0-3
lua-inspect=3.1.1-2
lua-json=1.3.4-2
lua-ldoc=1.4.6-2
lua-leg=0.1.3-2
lua-lemock=0.6-5
lua-lgi=0.9.2-3
lua-ljsyscall=0.12-1.1
lua-logging=1.3.0-2
lua-lpeg=1.0.2-2
lua-lpeg-patterns=0.4-1.1
lua-luaossl=20220711-1
lua-luassert=1.9.0-1
lua-markdown=0.32-6
lua-md5=1.2+git+1+8d87fee-2
lua-mediator=1.1.2-0-8
lua-messagepack=0.5.2-1
lua-mmdb=0.1-1.1
lua-moses=2.1.0-1
lua-nginx-cookie=0.1.0-1.1
lua-nginx-dns=0.20-1
lua-nginx-kafka=0.07-1
lua-nginx-memcached=0.14-1.1
lua-nginx-redis=0.27-1.1
lua-nginx-redis-connector=0.06-1
lua-nginx-string=0.11-1
lua-nginx-websocket=0.08-1
lua-nvim=0.2.4-1-1
lua-orbit=2.2.1+dfsg-2
lua-penlight=1.13.1-3
lua-posix=33.4.0-3+b1
lua-readline=3.2-2
lua-redis=2.0.5~git20141117.880dda9-7
lua-resty-core=0.1.25-1
lua-resty-lrucache=0.13-10
lua-rings=1.3.0-4
lua-say=1.4.1-2
lua-sec=1.2.0-2
lua-soap=3.0+git91419a7-2
lua-systemd=0~git20160517-2
lua-term=0.07-1+b1
lua-unit=3.4-2
lua-uri=0.1+20130926+git14fa255d-2
lua-wsapi=1.6.1-2
lua-xmlrpc=1.2.1-8
lua-yaml=6.2.8-2
lua-check=1.1.0-1
lua-socket=3.1.0-1+b1
prosody=0.12.3-1+deb12u1
prosody-modules=0.0~hg20230223.556bf57d6417+dfsg-1
lmod=8.6.19-1
vis=0.8-1
luarocks=3.8.0+dfsg1-1
rspamd=3.4-1
sysdig=0.29.3-1+b1
libluajit-5.1-common=2.1.0~beta3+git20220320+dfsg-4.1+deb12u1
lua-hamlib=4.5.4-1+b1
lua-guestfs=1:1.48.6-2
lua-event=0.4.6-2+b1
lua-lxc=1:3.0.2-1+b1
awesome=4.3-7
luakit=1:2.3.3-1
neovim-runtime=0.7.2-7
tarantool=2.6.0-1.2+b1
""".split()]
REFUSED = {
    "lua-hamlib": "Files: * is LGPL-2.1+ and GPL-2+",
    "lua-guestfs": "copyright (not machine-readable): libguestfs is LGPL/GPL",
    "lua-event": "copyright (not machine-readable): LGPL-2.1",
    "lua-lxc": "Files: * is LGPL-2+",
    "awesome": "Files: * is GPL-2+",
    "luakit": "Files: * is GPL-3.0+",
    "neovim-runtime": "Files: runtime/* (all its .lua) is under the Vim license, not in the permissive list "
                      "(Neovim-original Lua is Apache-2.0 upstream; a person may decide to accept it)",
    "tarantool": "BSD-2-Clause, but its .lua are a vendored copy of luarocks (already taken from luarocks)",
}
NON_DEP5 = {"lua-iconv": "MIT (text of the Expat license)", "lua-json": "MIT (tests/ public domain/MIT)",
            "lua-logging": "MIT (text of the Expat license)"}


def main_license(text, name):
    """License of the Files: * stanza, or the verdict recorded for a non-machine-readable file."""
    stanzas = copyright_stanzas(text or "")
    for files, lic in stanzas:
        if files == ["*"] and lic:
            return lic
    return NON_DEP5.get(name, "unknown")


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    seen, stats = set(), []
    for name, version in PACKAGES:
        root = unpack_deb(fetch_debian(name, version, CACHE), CACHE)
        lic = main_license(read_copyright(root, name), name)
        st = {"label": name, "version": version, "license": lic,
              "license_source": f"usr/share/doc/{name}/copyright"}
        if name in REFUSED:
            st["refused"] = REFUSED[name]
        elif not (PERMISSIVE_DEBIAN.match(lic) or name in NON_DEP5):
            st["refused"] = f"license not known to be permissive: {lic}"
        else:
            st.update(filter_package(name, root, {".lua"}, OUT, seen, check_gpl=True))
        stats.append(st)
        print(json.dumps(st), flush=True)
    with open("lang-work/filtered/lua-stats.json", "w") as f:
        json.dump(stats, f, indent=1)
