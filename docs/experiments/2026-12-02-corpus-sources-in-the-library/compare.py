"""Compare the files model.data's source filter takes from the pinned packages with the files the
first-corpora scripts kept (their filtered/<language>/<package>/... tree and its stats JSON).

    python compare.py LIST CACHE SCRIPTS_FILTERED LANGUAGE

Prints one JSON line per package (files and bytes taken by each, the skips of each, and the
relative paths only one of them took), then a JSON total.
"""
import hashlib
import json
import os
import sys

from model.data import packages, pinned
from model.text.clean import LANGUAGES


def script_files(top):
    out = {}
    for dirpath, _, filenames in os.walk(top):
        for f in filenames:
            path = os.path.join(dirpath, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, top)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def main(list_path, cache, filtered, language):
    pins = packages.read_package_list(list_path)
    _, _, files, records = pinned.package_sources(pins, cache, packages.unseen_pins(), LANGUAGES[language],
                                                  progress=False)
    with open(os.path.join(filtered, f"{language}-stats.json")) as f:
        stats = {s["label"]: s for s in json.load(f)}
    ours = {}
    for path, rel in files:
        label, inner = rel.split("/", 1)
        with open(path, "rb") as fh:
            ours.setdefault(label, {})[inner] = hashlib.sha256(fh.read()).hexdigest()
    same_all = True
    for r in records:
        label = r["label"]
        theirs = script_files(os.path.join(filtered, language, label))
        mine = ours.get(label, {})
        s = stats.get(label, {})
        row = {"package": label, "ours": [r.get("taken", 0), r.get("taken_bytes", 0)],
               "scripts": [s.get("kept", 0), s.get("kept_bytes", 0)],
               "ours_found": [r.get("found", 0), r.get("found_bytes", 0)],
               "scripts_found": [s.get("found", 0), s.get("found_bytes", 0)],
               "ours_skipped": r.get("skipped", {}), "scripts_skipped": s.get("skipped", {}),
               "only_ours": sorted(set(mine.items()) - set(theirs.items()))[:5],
               "only_scripts": sorted(set(theirs.items()) - set(mine.items()))[:5],
               "refused": r.get("refused"), "scripts_refused": s.get("refused")}
        row["same_files"] = not row["only_ours"] and not row["only_scripts"]
        same_all &= row["same_files"]
        print(json.dumps(row))
    t = pinned.totals(records)
    print(json.dumps({"total_ours": [t["taken"], t["taken_bytes"]],
                      "total_scripts": [sum(s.get("kept", 0) for s in stats.values()),
                                        sum(s.get("kept_bytes", 0) for s in stats.values())],
                      "skipped_ours": t["skipped"], "refused_ours": t["refused"], "same_files_everywhere": same_all}))


if __name__ == "__main__":
    main(*sys.argv[1:])
