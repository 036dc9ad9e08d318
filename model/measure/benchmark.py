"""The unseen-code benchmark: what a Tab is worth on real code the model never saw.

    python -m model.measure.benchmark --model model/pretrained/python --json
    python -m model.measure.benchmark --model runs/a --model runs/b --out runs/benchmark   # side by side
    python -m model.measure.benchmark --model DIR --set dev --fit-policy                    # fit the policy

The files are the pinned packages of model/unseen/benchmark.txt (or dev.txt), fetched with pip
into the package cache; no corpus may include them (model.data.corpus refuses them by name).
Positions are drawn with a fixed seed, in code (never in comments or strings):
  ident   the cursor after the first 2 characters of a name of 5 or more; identifier exact
          when the completion, cut at the end of the name, is the rest of the name
  line    the cursor at a token start inside a code line
At every position the truth is the rest of the line (less a trailing comment); a completion is right
when it is a prefix of it. Keystroke savings: the characters of right completions over all the
truths' characters, both kinds of position together; line precision and the share answered: over the
line positions. Each request carries what a plug-in sends while the user writes that line: the last
4000 characters before the cursor and, as `suffix`, the file after the current line; the Completer
runs it as the server does (model.serving.completer.carried, then the server's defaults). Baselines on the same
positions: the editor's word completion (the file's words before and after the cursor), Jedi (top 1,
with the package as its project), and xz for bits/char.
"""
import argparse
import itertools
import json
import os
import sys
import time

import numpy as np

from model.data import packages
from model.measure.baselines import ctags_completion, jedi_completion
from model.measure.benchmark_report import plot, table, tabs_table
from model.measure.evaluate import buffer_word, buffer_words, fit_match, ident_part, next_char_metrics, progress_bar, score_lines, xz_bpc
from model.measure.positions import cursor_in_word, draw_positions, editor_request, package_files, project_files
from model.measure.tabs import outcome, saved_chars, shares
from model.serving import modeldir
from model.serving.completer import Completer, carried
from model.serving.hints import fit_match_weights, mix_match
from model.serving.modeldir import ModelDirError
from model.serving.policy import OBJECTIVES, PRECISION_TARGET, Gate, Policy, answer, fit_policy
from model.text.clean import FILE_START, SOURCE_EXTENSIONS, CleaningError, clean

SETS = {"benchmark": os.path.join(packages.UNSEEN_DIR, "benchmark.txt"),
        "dev": os.path.join(packages.UNSEEN_DIR, "dev.txt")}  # Python's; another language's: unseen_list()
# The real language tool each language's benchmark sets beside the model at identifier positions.
CTAGS_LANGUAGES = {"c": "C", "javascript": "JavaScript", "typescript": "TypeScript", "lua": "Lua"}
TOOLS = {"python": ("Jedi 0.20", jedi_completion),
         **{language: ("Universal Ctags 5.9",
                       lambda raw, pos, suffix, name, root, tags=tags: ctags_completion(raw, pos, root, tags))
            for language, tags in CTAGS_LANGUAGES.items()}}


def unseen_list(set_name, language="python"):
    """A set's package list: Python's model/unseen/{set}.txt, another language's {language}-{set}.txt."""
    name = f"{set_name}.txt" if language == "python" else f"{language}-{set_name}.txt"
    return os.path.join(packages.UNSEEN_DIR, name)
OLD_GATE = 0.75  # the server's per-character gate before the policy: the baseline to beat
MAX_CHARS = 80  # the plug-ins' default
TOP_CHOICES = 3  # the choices the plug-ins ask for and show
GATES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
IDENT_FLOORS = (0.0, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8)  # 0.3, 0.5: for C; 0.6-0.8: names to the menu (2026-12-03)
CHAR_FLOORS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
LINE_FLOORS = (0.0, 0.1, 0.3, 0.5)
EXTEND_FLOORS = (0.6, 0.7, 0.8, 0.9, 0.95, 1.01)  # 1.01: never beyond the name


# -- The files and the positions: model.measure.positions ------------------------------------

def load_cleaned(completer, files):
    """The files as the model sees them (its own cleaning), for bits/char."""
    docs = []
    for _, raw, _ in files:
        try:
            docs.append(clean(raw, completer.ext, completer.cleaning).text)
        except CleaningError:
            continue
    return [d for d in docs if d.strip()]


def first_chars(docs, max_chars):
    """The documents' first max_chars characters in all, in order (the last one cut); all of
    them when max_chars is None."""
    if max_chars is None:
        return docs
    out, left = [], max_chars
    for d in docs:
        if left <= 0:
            break
        out.append(d[:left])
        left -= len(out[-1])
    return out


# -- Measuring -----------------------------------------------------------------------------

def run_positions(completer, files, positions, progress, desc, with_files=False, choices_out=None, **options):
    """Complete each position as the server would (with the package's other files as `files`,
    if asked); returns [(completion, probs, ms)], and each answer's choices in `choices_out`."""
    out = []
    for f, pos, _, _ in progress(positions, desc=desc, unit="pos"):
        text, suffix = carried(*editor_request(files[f][1], pos))
        project = project_files(files, f) if with_files else ()
        started = time.perf_counter()
        r = completer.complete(text, suffix, max_chars=MAX_CHARS, stop="line", files=project, **options)
        out.append((r.text, list(r.probs), (time.perf_counter() - started) * 1000))
        if choices_out is not None:
            choices_out.append(r.choices)
    return out


def tabs_run(completer, files, idents, lines, progress, top=TOP_CHOICES, with_files=False):
    """What a Tab gives the user at each kind of position, asked as the plug-ins ask (the server's
    defaults with `choices: top`; with the package's other files as `files`, if asked):
    model.measure.tabs's outcomes and their shares, and the keystrokes saved with menu picks
    (over both kinds, and per position for paired comparisons)."""
    out, tabs = {}, {}
    for kind, positions in (("ident", idents), ("line", lines)):
        ranked = []
        done = run_positions(completer, files, positions, progress, f"tabs {kind}{' with files' * with_files}",
                             with_files=with_files, choices=top, choices_out=ranked)
        # (completion, choices, truth, name: None at line positions), as tabs.outcome takes them
        tabs[kind] = [(c, choices, truth, name) for (c, _, _), choices, (_, _, truth, name) in zip(done, ranked, positions)]
        out[kind] = tab_figures(tabs[kind], top)
    both = tabs["ident"] + tabs["line"]
    saved = [saved_chars(*tab, top=top) for tab in both]
    out["savings_with_picks"] = sum(saved) / max(sum(len(truth) for _, _, truth, _ in both), 1)
    out["per_position"] = {"saved": saved, "truth": [len(truth) for _, _, truth, _ in both], "answered": [
        bool(c) for c, _, _, _ in tabs["line"]], "right": [bool(c) and t.startswith(c) for c, _, t, _ in tabs["line"]]}
    return out


def tab_figures(tabs, top=TOP_CHOICES):
    """The outcomes' shares of Tabs [(completion, choices, truth, name)] and the keystrokes they
    save with menu picks (model.measure.tabs)."""
    saved, truth_chars = sum(saved_chars(*tab, top=top) for tab in tabs), sum(len(tab[2]) for tab in tabs)
    return {**shares([outcome(*tab, top=top) for tab in tabs]), "savings_with_picks": saved / max(truth_chars, 1)}


def menu_outcomes(choices, positions, top=TOP_CHOICES):
    """Per position, what its menu gives when nothing is inserted there: (outcome, keystrokes saved
    by picking). Floors do not rank choices, so a sweep reads the ungated run's menus once (its
    uncut proposal is among the candidates: reported figures are the served run's)."""
    return [(outcome("", ch, truth, name, top), saved_chars("", ch, truth, name, top))
            for ch, (_, _, truth, name) in zip(choices, positions)]


def sweep_tab_figures(ident_answers, idents, line_answers, lines, menus):
    """Useful Tabs at each kind of position and keystrokes saved with menu picks, when these
    answers are inserted and a menu (menu_outcomes, per kind) is shown wherever one is empty."""
    outcomes, saved = {"ident": [], "line": []}, 0
    for kind, answers, positions, menu in (("ident", ident_answers, idents, menus[0]),
                                           ("line", line_answers, lines, menus[1])):
        for (c, _, _), (_, _, truth, name), (menu_outcome, menu_saved) in zip(answers, positions, menu):
            if c:  # inserted: no menu
                outcomes[kind].append(outcome(c, (), truth, name))
                saved += saved_chars(c, (), truth, name)
            else:
                outcomes[kind].append(menu_outcome)
                saved += menu_saved
    total = sum(len(truth) for _, _, truth, _ in idents + lines)
    return {"names_useful": shares(outcomes["ident"])["useful"], "line_useful": shares(outcomes["line"])["useful"],
            "savings_with_picks": saved / max(total, 1)}


def answer_pairs(ident_results, idents, line_results, lines):
    """(completion, truth: the rest of the line) at every position of both kinds."""
    return [(c, truth) for (c, _, _), (_, _, truth, _) in zip(ident_results + line_results, idents + lines)]


def score(ident_results, idents, line_results, lines):
    """Identifier exact (ident positions); line exact, precision, answered (line positions);
    keystroke savings and precision over both."""
    ident = [ident_part(c) == name for (c, _, _), (_, _, _, name) in zip(ident_results, idents)]
    everywhere = score_lines(answer_pairs(ident_results, idents, line_results, lines))
    at_lines = score_lines(answer_pairs([], [], line_results, lines))
    return {"ident_exact": float(np.mean(ident)) if ident else None, **at_lines,
            "keystroke_savings": everywhere["keystroke_savings"], "precision": everywhere["line_precision"],
            "line_savings": at_lines["keystroke_savings"]}


def per_position(ident_results, idents, line_results, lines):
    """What each position contributed, for comparing two models on the same positions:
    characters saved and the truth's length (both kinds), and at line positions whether it
    answered and whether the answer was right."""
    pairs = answer_pairs(ident_results, idents, line_results, lines)
    at_lines = pairs[len(ident_results):]
    return {"saved": [len(c) if c and t.startswith(c) else 0 for c, t in pairs],
            "truth": [len(t) for _, t in pairs],
            "answered": [bool(c) for c, _ in at_lines],
            "right": [bool(c) and t.startswith(c) for c, t in at_lines]}


def paired_difference(before, after, rounds=2000, seed=0, level=0.95):
    """after - before in keystroke savings and line precision, with a paired bootstrap interval
    over the positions (both measured on the same ones, per_position()): {figure: (difference,
    low, high)}; an interval that holds 0 is a difference the positions cannot tell from noise."""
    saved0, saved1, truth = (np.asarray(x, dtype=float) for x in (before["saved"], after["saved"], before["truth"]))
    right0, right1 = np.asarray(before["right"], dtype=float), np.asarray(after["right"], dtype=float)
    answered0, answered1 = np.asarray(before["answered"], dtype=float), np.asarray(after["answered"], dtype=float)
    if len(saved1) != len(saved0) or len(right1) != len(right0):
        raise ValueError("paired_difference: the two measurements are not on the same positions")

    def savings(i):
        return (saved1[i].sum() - saved0[i].sum()) / max(truth[i].sum(), 1)

    def precision(j):
        a0, a1 = answered0[j].sum(), answered1[j].sum()
        return right1[j].sum() / a1 - right0[j].sum() / a0 if a0 and a1 else np.nan

    rng = np.random.default_rng(seed)
    out = {}
    for name, figure, n in (("keystroke_savings", savings, len(saved0)), ("line_precision", precision, len(right0))):
        if n == 0:
            continue
        whole = figure(np.arange(n))
        draws = np.array([figure(rng.integers(0, n, n)) for _ in range(rounds)])
        draws = draws[~np.isnan(draws)]
        if np.isnan(whole) or not len(draws):
            continue
        low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        out[name] = (float(whole), float(low), float(high))
    return out


def cut_ceiling(ident_results, idents, line_results, lines):
    """Keystroke savings if every completion were cut at its longest right prefix: what the best
    possible cutting rule could save from these (ungated) proposals."""
    pairs = answer_pairs(ident_results, idents, line_results, lines)
    saved = sum(len(os.path.commonprefix([c, t])) for c, t in pairs)
    return saved / max(sum(len(t) for _, t in pairs), 1)


def sweeps(ident_raw, idents, line_raw, lines, in_word, menus=None):
    """Precision/savings of the per-character gate and of the policy at each threshold, derived
    from the ungated completions (each rule only ever cuts the greedy proposal); with the
    positions' menus (menu_outcomes per kind), each policy's useful Tabs and savings with picks."""
    def apply(results, cut):
        """What the Completer answers under a cut (policy.answer, as the Completer applies it)."""
        return [(answer(cut, c, p, w), p, ms) for (c, p, ms), w in results]

    ident_w = [(r, True) for r in ident_raw]
    line_w = [(r, w) for r, w in zip(line_raw, in_word)]
    gate_rows = []
    for g in GATES:
        cut = Gate(g).cut
        gate_rows.append({"min_prob": g, **score(apply(ident_w, cut), idents, apply(line_w, cut), lines)})
    policy_rows = []
    for floors in itertools.product(IDENT_FLOORS, CHAR_FLOORS, LINE_FLOORS, EXTEND_FLOORS):
        policy = Policy(*floors)
        ident_answers, line_answers = apply(ident_w, policy.cut), apply(line_w, policy.cut)
        row = {**policy.as_meta(), **score(ident_answers, idents, line_answers, lines)}
        if menus is not None:
            row.update(sweep_tab_figures(ident_answers, idents, line_answers, lines, menus))
        policy_rows.append(row)
    return gate_rows, policy_rows


def measure(completer, files, positions=300, seed=0, progress=progress_bar(False), baselines=True, only=None,
            positions_detail=False, max_chars=None):
    """Every figure of the benchmark for one Completer on raw files [(name, text, root)]
    (`only`: the names of the request kinds to run, e.g. ("server_defaults",), and no sweeps or
    baselines; default: all of them; `positions_detail`: each run's per_position() too;
    `max_chars`: bits/char on the files' first this many cleaned characters, in order, so a big
    project's measurement takes bounded time; the positions are drawn from all of them)."""
    idents, lines = draw_positions(files, positions, seed)
    docs = first_chars(load_cleaned(completer, files), max_chars)
    result = {"files": len(files), "chars": sum(len(d) for d in docs),
              "positions": {"ident": len(idents), "line": len(lines)}}
    nc = next_char_metrics(completer, docs, progress)
    result["network"] = {k: nc[k] for k in ("bpc", "accuracy", "top5_accuracy")}
    result["completer"] = {k: nc["completer"][k] for k in ("bpc", "accuracy", "top5_accuracy")}

    runs, menus = {}, {}
    for name, options in (("server_defaults", {}), ("old_gate", {"min_prob": OLD_GATE}), ("ungated", {"min_prob": 0.0}),
                          ("with_files", {"with_files": True}), ("with_files_ungated", {"with_files": True, "min_prob": 0.0})):
        if only is not None and name not in only:
            continue
        swept = name.endswith("ungated")  # the sweeps cut these answers, and read their menus
        ranked = ([], []) if swept else (None, None)
        options = {**options, "choices": TOP_CHOICES} if swept else options
        i = run_positions(completer, files, idents, progress, f"{name} ident", choices_out=ranked[0], **options)
        l = run_positions(completer, files, lines, progress, f"{name} line", choices_out=ranked[1], **options)
        runs[name] = (i, l)
        if swept:
            menus[name] = (menu_outcomes(ranked[0], idents), menu_outcomes(ranked[1], lines))
        ms = [r[2] for r in i + l]
        result[name] = {**score(i, idents, l, lines), "p50_ms": float(np.percentile(ms, 50)),
                        "p95_ms": float(np.percentile(ms, 95)), "seconds": round(sum(ms) / 1000, 2)}
        if positions_detail:
            result[name]["per_position"] = per_position(i, idents, l, lines)
    if only is None or "tabs" in only:
        result["tabs"] = tabs_run(completer, files, idents, lines, progress)
    if only is None or "tabs_with_files" in only:
        result["tabs_with_files"] = tabs_run(completer, files, idents, lines, progress, with_files=True)
    if only is not None:
        return result
    result["old_gate"]["min_prob"] = OLD_GATE
    for served, ungated in (("server_defaults", "ungated"), ("with_files", "with_files_ungated")):
        ident_raw, line_raw = runs[ungated]  # what the policy cut its answers from
        result[served]["cut_ceiling_savings"] = cut_ceiling(ident_raw, idents, line_raw, lines)
    in_word = cursor_in_word(files, lines)
    result["gate_sweep"], result["policy_sweep"] = sweeps(runs["ungated"][0], idents, runs["ungated"][1], lines, in_word,
                                                          menus["ungated"])
    files_ident, files_line = runs["with_files_ungated"]
    result["files_gate_sweep"], result["files_policy_sweep"] = sweeps(files_ident, idents, files_line, lines, in_word,
                                                                      menus["with_files_ungated"])
    if baselines:
        menus_i = [buffer_words(*editor_request(files[f][1], pos), prefix=files[f][1][pos - 2:pos], k=TOP_CHOICES)
                   for f, pos, _, _ in idents]
        words_i = [menu[0] if menu else "" for menu in menus_i]
        words_l = [buffer_word(*editor_request(files[f][1], pos), prefix="") for f, pos, _, _ in lines]
        result["baselines"] = {
            "xz_bpc": xz_bpc(docs),
            "buffer_words": score([(w, [], 0) for w in words_i], idents, [(w, [], 0) for w in words_l], lines),
            "buffer_words_menu": word_list_menu(menus_i, idents)}
        if completer.language in TOOLS:
            tool_name, complete = TOOLS[completer.language]
            tool_i = [complete(files[f][1], pos, editor_request(files[f][1], pos)[1], files[f][0], files[f][2])
                      for f, pos, _, _ in progress(idents, desc=tool_name, unit="pos")]
            result["baselines"]["tool"] = {"name": tool_name, **score([(t, [], 0) for t in tool_i], idents, [], [])}
    return result


def word_list_menu(menus, idents):
    """The editor's word list as it shows itself inside a name: a menu of its first words
    (buffer_words), none inserted; its Tabs' figures at name positions (tab_figures)."""
    return {"ident": tab_figures([("", [(w, 0.0) for w in menu], truth, name)
                                  for menu, (_, _, truth, name) in zip(menus, idents)])}


def fit_project_match(completer, files, progress=progress_bar(False)):
    """The project match model's weight per length bucket, fitted on files [(name, text, root)]
    (the dev set) as the Completer will use it: each file with its package's other files as
    `files`, mixed in after the network and the buffer's match model."""
    def predictions():
        for f in progress(range(len(files)), desc="fit project match", unit="file"):
            project = completer.project_for(project_files(files, f))
            doc = load_cleaned(completer, [files[f]])
            if project is None or not doc:
                continue
            targets, logp, preds, lengths = completer.predictions(doc[0])
            if completer.match_weights is not None:
                logp = np.log(np.maximum(mix_match(np.exp(logp), preds, lengths, completer.match_weights), 1e-30))
            ppreds, plengths = project.predictions(completer.vocab.encode(FILE_START + doc[0]))
            ppreds, plengths = ppreds[1:], plengths[1:]  # as Completer.predictions: for ids[1:]
            ppreds[np.isin(ppreds, completer.banned)] = -1
            yield targets, logp, ppreds, plengths
    return fit_match_weights(predictions())


def versus_first(results, runs=("server_defaults", "with_files", "tabs", "tabs_with_files")):
    """Each later model's change from the first in savings and line precision, with the paired
    bootstrap interval over the positions they share (r["versus_first"]; for the tabs runs the
    savings are those with menu picks); the per-position lists are dropped from the results after."""
    for r in results[1:]:
        r["versus_first"] = {run: paired_difference(results[0][run]["per_position"], r[run]["per_position"])
                             for run in runs if "per_position" in results[0].get(run, {})
                             and "per_position" in r.get(run, {})}
    for r in results:
        for run in r.values():
            if isinstance(run, dict):
                run.pop("per_position", None)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, help="model dir (repeat to compare in one run)")
    p.add_argument("--set", default="benchmark", choices=sorted(SETS),
                   help="benchmark (report) or dev (fit), of the first model's language (unseen_list)")
    p.add_argument("--language", default=None, choices=sorted(SOURCE_EXTENSIONS),
                   help="the language to measure (default: the first model's own; another must be one it serves, "
                        "e.g. typescript for the JavaScript model)")
    p.add_argument("--packages", default=None, help="a package list instead of the set's")
    p.add_argument("--positions", type=int, default=300, help="positions of each kind")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--out", default="runs/benchmark", help="where benchmark.json, .md and .png go")
    p.add_argument("--no-baselines", action="store_true", help="skip buffer words, Jedi and xz")
    p.add_argument("--fit-policy", action="store_true",
                   help="fit the completion policy on this set (use --set dev) and store it in the model dir")
    p.add_argument("--precision-target", type=float, default=PRECISION_TARGET,
                   help=f"the line precision a fitted policy keeps (default {PRECISION_TARGET})")
    p.add_argument("--overall-precision", type=float, default=None,
                   help="the precision over all answers (names too) a fitted policy keeps (default: --precision-target)")
    p.add_argument("--objective", default="keystroke_savings", choices=OBJECTIVES,
                   help="the savings a fitted policy makes the most of: what Tab inserts, or that with the menu's "
                        "picks where nothing is inserted (what the plug-ins give)")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    args = p.parse_args(argv)
    if args.positions < 1:
        p.error("--positions must be positive")
    if args.fit_policy and (args.set != "dev" and not args.packages):
        p.error("--fit-policy on the benchmark would tune on what you report: use --set dev")
    if args.fit_policy and (args.language or len(args.model) != 1):
        p.error("--fit-policy fits one --model on its own language's dev set: leave out --language")
    try:
        language = args.language or modeldir.read_meta(args.model[0]).get("language", "python")
        package_list = args.packages or unseen_list(args.set, language)
        # Loaded before any package is fetched: a model that cannot serve the language says so first.
        completers = [Completer.load(model_dir).serving(language) for model_dir in args.model]
        files = package_files(package_list, args.cache, SOURCE_EXTENSIONS[language])
        results = []
        for model_dir, completer in zip(args.model, completers):
            if args.fit_policy and completer.reader.rate is not None:  # adapting to the buffer: its match weights refitted
                fit_match(model_dir, load_cleaned(completer, files), True, args.set)
                completer = Completer.load(model_dir).serving(language)
            if args.fit_policy:  # the project's weights first: the policy is fitted on what they give
                completer.meta["project_match"] = {**fit_project_match(completer, files, progress_bar(True)),
                                                   "fitted_on": args.set}
                modeldir.write_meta(model_dir, completer.meta)
                completer = Completer.load(model_dir).serving(language)
            r = measure(completer, files, args.positions, args.seed, progress_bar(True), baselines=not args.no_baselines
                        and model_dir == args.model[0], positions_detail=len(args.model) > 1)
            fitted = {}  # meta.json key -> (floors, their row), for requests without files and with
            for key, sweep, policy in (("policy", "policy_sweep", completer.policy),
                                       ("policy_files", "files_policy_sweep", completer.files_policy)):
                try:
                    fitted[key] = fit_policy(r[sweep], args.precision_target, args.overall_precision,
                                             objective=args.objective)
                except ValueError:
                    if args.fit_policy:
                        raise
                r[key] = {**policy.as_meta(), "best_on_this_set": fitted.get(key, (None, None))[1]}
            if args.fit_policy:  # (a fresh read of meta.json: it holds the project weights now)
                for key, (best, row) in fitted.items():
                    completer.meta[key] = {**best.as_meta(), "precision_target": args.precision_target,
                                           "overall_precision": args.precision_target if args.overall_precision is None
                                           else args.overall_precision,
                                           "objective": args.objective, "fitted_on": args.set, "at_fit": row}
                modeldir.write_meta(model_dir, completer.meta)
            results.append({**r, "name": os.path.basename(os.path.normpath(model_dir)), "model": model_dir})
    except (packages.PackageError, ModelDirError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    versus_first(results)
    os.makedirs(args.out, exist_ok=True)
    report = {"set": args.set, "language": language, "packages": [
        p.spec for p in packages.read_package_list(package_list)], "positions": args.positions, "seed": args.seed, "results": results}
    modeldir.write_json(os.path.join(args.out, "benchmark.json"), report)
    with open(os.path.join(args.out, "benchmark.md"), "w") as f:
        f.write(table(results) + "\n" + tabs_table(results))
    plot(results, os.path.join(args.out, "benchmark.png"))
    print(table(results) + "\n" + tabs_table(results), file=sys.stderr)
    if args.json:
        print(json.dumps({**report, "results": [{k: v for k, v in r.items() if not k.endswith("_sweep")}
                                                  for r in results]}))


if __name__ == "__main__":
    main()
