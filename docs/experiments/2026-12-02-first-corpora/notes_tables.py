"""Markdown tables for NOTES.md from lang-work/filtered/<language>-stats.json and the corpus manifests."""
import json

RULES = ["excluded_dir", "minified", "generated", "gnu_license", "duplicate", "undecodable_or_too_large", "over_cap"]


def table(language, exts):
    stats = json.load(open(f"lang-work/filtered/{language}-stats.json"))
    out = [f"| package | version | license (read from) | kept? | raw {exts} found: files / MB | kept: files / MB | skipped by rule |",
           "|---|---|---|---|---|---|---|"]
    tot = {"found": 0, "found_bytes": 0, "kept": 0, "kept_bytes": 0}
    skipped_tot = {}
    for st in stats:
        if "refused" in st:
            out.append(f"| {st['label']} | {st['version']} | {st['license']} ({st['license_source']}) | REFUSED: {st['refused']} | | | |")
            continue
        for k in tot:
            tot[k] += st[k]
        for k, v in st["skipped"].items():
            skipped_tot[k] = skipped_tot.get(k, 0) + v
        sk = ", ".join(f"{k} {v}" for k, v in sorted(st["skipped"].items())) or "-"
        kept = "kept" if st["kept"] else "kept (license) but 0 files after rules"
        out.append(f"| {st['label']} | {st['version']} | {st['license']} ({st['license_source']}) | {kept} | "
                   f"{st['found']} / {st['found_bytes']/1e6:.2f} | {st['kept']} / {st['kept_bytes']/1e6:.2f} | {sk} |")
    sk = ", ".join(f"{k} {v}" for k, v in sorted(skipped_tot.items()))
    out.append(f"| **total** | | | | {tot['found']} / {tot['found_bytes']/1e6:.2f} | {tot['kept']} / {tot['kept_bytes']/1e6:.2f} | {sk} |")
    return "\n".join(out)


def corpus(language):
    m = json.load(open(f"lang-work/corpora/{language}/manifest.json"))
    s = m["splits"]
    return (f"corpus lang-work/corpora/{language}: train {s['train']['chars']:,} chars ({s['train']['files']} files), "
            f"val {s['val']['chars']:,} ({s['val']['files']}), test {s['test']['chars']:,} ({s['test']['files']}); "
            f"model.corpus file counts: {json.dumps(m['files'])}")


if __name__ == "__main__":
    for lang, ext in (("c", ".c/.h"), ("javascript", ".js"), ("lua", ".lua")):
        print(f"### {lang}\n\n{table(lang, ext)}\n\n{corpus(lang)}\n")
    ts = json.load(open("lang-work/filtered/javascript-stats.json"))
    rows = [(s["label"], s["typescript"]["kept"], s["typescript"]["kept_bytes"]) for s in ts if "typescript" in s and s["typescript"]["kept"]]
    print("### typescript (collected, not used)\n\n" + "; ".join(f"{n}: {k} files / {b/1e6:.2f} MB" for n, k, b in rows)
          + f"; total {sum(r[1] for r in rows)} files / {sum(r[2] for r in rows)/1e6:.2f} MB in lang-work/filtered/typescript\n")
