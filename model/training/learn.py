"""Fine-tune a model on a user's project, and ship it only if it got better on the project's own files.

    python -m model.training.learn ~/code/myapp --out models/myapp
    python -m model.training.learn ~/code/myapp --out models/myapp --base model/pretrained/python --max-minutes 10

0. Without --base, starts from the shipped model (model/pretrained/) whose language has the most
   source bytes in the project (model.training.base), and prints which and why.
1. Gathers the project's source files of the base model's language (all its extensions: .c and .h
   for C; model.data.project: no .git, virtual environments, node_modules, vendored, build or dist
   dirs, git-ignored files), and builds a corpus of them in the work dir (model.data.corpus, cleaned
   as the base model was): train, val (early stopping, the match weights) and held-out test files.
2. Measures the base model on the held-out files (model.measure.benchmark.measure: bits/char and the
   completion metrics through the server's defaults, requests built as a plug-in sends them).
3. Fine-tunes from the base model (model.training.train: its vocab and network, learning rate 5e-4,
   256-character windows, early stopping on val, the time left of --max-minutes).
4. Completes the model dir: match weights fitted on val (the base's for lengths val saw too
   rarely), the base's project match weights, adaptation, name floor and ranking (SERVED_AS_BASE),
   and the base's policy with its floors refitted on the val files to save the most keystrokes at
   the precision the base's floors get there (--keep-base-policy keeps them as they are; its
   floors for requests with files are kept).
5. Measures the tuned model on the same files, positions and seed; refuses to install it when
   it is worse (see worse()), else installs it, meta.json "project" recording the project root,
   the held-out files and both measurements.
Everything happens in OUT.partial beside OUT, renamed into place at the end. A killed run
(kill -9 included) continues where it stopped when run again; --restart starts over.
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

from model.data.corpus import CorpusError, build_corpus, read_source
from model.data.project import ProjectError, source_files
from model.measure.benchmark import draw_positions, measure, paired_difference, run_positions, score, sweeps
from model.measure.evaluate import progress_bar
from model.measure.positions import cursor_in_word
from model.serving import modeldir
from model.serving.completer import Completer
from model.serving.hints import MATCH_EDGES
from model.serving.lstm import Stepper
from model.serving.modeldir import ModelDirError
from model.serving.policy import answer, fit_policy
from model.training import network
from model.training.base import SHIPPED, choose_base, extensions_of
from model.training.train import TrainingError, train

RECORD = "learn.json"  # in the work dir: what a resumed run needs (project, held-out files, the base's figures)
VAL_FRACTION, TEST_FRACTION = 0.1, 0.15
LEARNING_RATE = 5e-4
SHAPE = (64, 256)          # streams x window a fine-tuning run starts from (fewer streams for a small project)
EPOCH_STEPS = 48           # an epoch is at most this many steps, so val is checked often on a big project
MAX_PASSES = 40            # over the train split; the time budget or early stopping on val ends a run sooner
PATIENCE = 2
VAL_CHARS = 150_000        # val is read after every epoch: its first this many characters
MATCH_MIN_POSITIONS = 2000  # a match length bucket seen less than this in val keeps the base's weight
MIN_POLICY_LINES = 100     # the policy is refitted on val only with this many line positions there
# What a tuned model takes from its base's meta.json to serve as its base does: the floors were fitted for
# the base's name floor and ranking (a C project model without "name_floor" typed half the names it should).
SERVED_AS_BASE = ("policy", "policy_files", "project_match", "adapt", "name_floor", "name_weights", "rank_names",
                  "whole_names")
POSITIONS = 600            # of each kind, to measure on (fewer where there are fewer). At 200, click's tuned model
                           # lost 0.134 -> 0.129 in savings; at 600 it gained 0.151 -> 0.152 at a higher precision
MEASURE_CHARS = 300_000    # bits/char on the held-out files' first this many characters: fontTools's 917 k took
                           # 112 s a measurement, and left 2 of its 10 minutes for training
MEASURED = ("server_defaults",)  # the request kinds measured: as the plug-ins send them, the server's defaults


class LearnError(Exception):
    """The project cannot be learned, or the tuned model is not better; the message says why."""


def held_out_files(paths):
    """The held-out files {name: path} as model.measure.benchmark.measure takes them: [(name, raw text, root)]."""
    files = []
    for name, path in sorted(paths.items()):
        text, skip = read_source(path, os.path.splitext(path)[1], 5_000_000)
        if skip is None:
            files.append((name, text, os.path.dirname(path)))
    return files


def summary(result):
    """The figures learn prints and records, from a measure() result (what each position
    contributed under "per_position", kept in the run's record, not in the model's meta)."""
    d = result["server_defaults"]
    return {"per_position": d["per_position"], "chars": result["chars"], "positions": result["positions"],
            "bits_per_char": result["network"]["bpc"], "completer_bits_per_char": result["completer"]["bpc"],
            "accuracy": result["network"]["accuracy"], "completer_accuracy": result["completer"]["accuracy"],
            **{k: d[k] for k in ("ident_exact", "line_precision", "answered", "keystroke_savings", "line_exact",
                                 "p50_ms")}}


def worse(before, after):
    """Why the tuned model is worse than the base (a list of reasons; empty when it is not): its
    bits/char are not lower, or its completions lose on keystroke savings or on line precision
    without gaining on the other (a model that answers more often at a lower precision, or less
    often at a higher one, is a trade, not a loss)."""
    reasons = []
    if after["completer_bits_per_char"] >= before["completer_bits_per_char"]:
        reasons.append(f"bits/char {before['completer_bits_per_char']:.3f} -> {after['completer_bits_per_char']:.3f}")
    s0, s1 = before["keystroke_savings"], after["keystroke_savings"]
    p0, p1 = before["line_precision"], after["line_precision"]
    precision = "none answered" if p1 is None else f"{p1:.3f}"
    if s1 < s0 and (p1 is None or p0 is None or p1 <= p0):
        reasons.append(f"keystroke savings {s0:.3f} -> {s1:.3f} at line precision "
                       f"{'-' if p0 is None else f'{p0:.3f}'} -> {precision}")
    elif p0 is not None and (p1 is None or p1 < p0) and s1 <= s0:
        reasons.append(f"line precision {p0:.3f} -> {precision} at keystroke savings {s0:.3f} -> {s1:.3f}")
    return reasons


def brief(figures):
    """A summary() without its per-position lists: what meta.json records."""
    return {k: v for k, v in figures.items() if k != "per_position"}


def difference(before, after):
    """The change in keystroke savings and line precision with its paired bootstrap interval over
    the held-out positions (model.measure.benchmark.paired_difference), as meta.json records it."""
    if "per_position" not in before:  # a run prepared by a learn that did not keep them
        return {}
    diff = paired_difference(before["per_position"], after["per_position"])
    return {k: dict(zip(("after_minus_before", "low", "high"), v)) for k, v in diff.items()}


def differences(diff):
    """Lines that say how sure the held-out positions make the change in savings and precision."""
    names = {"keystroke_savings": "keystroke savings", "line_precision": "line precision"}
    return "\n".join(f"{names[k]:17} {v['after_minus_before']:+.3f} tuned - base (95% paired bootstrap over the "
                     f"positions: {v['low']:+.3f} to {v['high']:+.3f})" for k, v in diff.items())


def table(before, after):
    rows = [("bits/char, the network", "bits_per_char"), ("bits/char, the Completer", "completer_bits_per_char"),
            ("next-char accuracy, the network", "accuracy"), ("identifier exact", "ident_exact"),
            ("line precision", "line_precision"), ("line answered", "answered"),
            ("keystroke savings", "keystroke_savings")]

    def f(x):
        return "-" if x is None else f"{x:.3f}"
    lines = [f"{'':34} {'base':>7} {'tuned':>7}"]
    lines += [f"{label:34} {f(before[key]):>7} {f(after[key]):>7}" for label, key in rows]
    return "\n".join(lines)


def merged_match(fitted, base):
    """The tuned model's match weights: fitted on the project's val split where it saw enough
    positions of a length, the base model's elsewhere (a small project's val split is small)."""
    if base is None or len(base.get("weights", ())) != len(MATCH_EDGES):
        return fitted
    weights = [w if n >= MATCH_MIN_POSITIONS else b
               for w, n, b in zip(fitted["weights"], fitted["positions"], base["weights"])]
    return {**fitted, "weights": weights, "base_weights_below_positions": MATCH_MIN_POSITIONS}


def fit_policy_on_val(base, tuned, files, positions, seed, progress):
    """The tuned model's policy: the base's identifier floor, and the line floor that saves the
    most keystrokes on the val files at the line precision the base model's own policy gets
    there (model.measure.benchmark's sweep and policy.fit_policy, on val, never on the held-out files); None
    when val has fewer than MIN_POLICY_LINES line positions, the base's identifier floor is not
    one the sweep tries, or no line floor reaches that precision."""
    idents, lines = draw_positions(files, positions, seed)
    if len(lines) < MIN_POLICY_LINES:
        return None
    in_word = cursor_in_word(files, lines)
    ungated = {}
    for name, completer in (("base", base), ("tuned", tuned)):
        ungated[name] = (run_positions(completer, files, idents, progress, f"{name} val ident", min_prob=0.0),
                         run_positions(completer, files, lines, progress, f"{name} val line", min_prob=0.0))

    def cut(results, marks):  # the base's own policy applied to its ungated completions, as the Completer applies it
        return [(answer(base.policy.cut, c, p, w), p, ms) for (c, p, ms), w in zip(results, marks)]
    i, l = ungated["base"]
    own = score(cut(i, [True] * len(i)), idents, cut(l, in_word), lines)
    target, overall = own["line_precision"], own["precision"]
    if target is None or overall is None:
        return None
    tuned_i, tuned_l = ungated["tuned"]
    # The other floors only: the identifier floor stays the base's, so identifiers are finished as often.
    rows = [r for r in sweeps(tuned_i, idents, tuned_l, lines, in_word)[1]
            if abs(r["ident_floor"] - base.policy.ident_floor) < 1e-9]
    try:
        policy, row = fit_policy(rows, target, overall)
    except ValueError:
        return None
    return {**policy.as_meta(), "precision_target": round(target, 4), "fitted_on": "project val", "at_fit": row}


class RunBar:
    """A learn run's progress on stderr. `one`: one bar for the whole run, a step per stage, the
    stage's own progress (positions, epochs) in its text; else each stage's own bars (when
    `show`). Also a progress factory, as measure() takes one."""
    STAGES = ("corpus", "measure base", "train", "refit policy", "measure tuned")

    def __init__(self, show, one=True):
        from tqdm import tqdm

        self.one = one
        self.bar = tqdm(total=len(self.STAGES), file=sys.stderr, disable=not (show and one), unit="stage",
                        leave=False, bar_format="{desc}: {n}/{total} stages |{bar:20}| {elapsed} {postfix}")
        self.stage_bars = show and not one
        self.each = progress_bar(self.stage_bars)

    def stage(self, name):
        """Mark the stages before `name` done and show it as the current one."""
        self.bar.update(self.STAGES.index(name) - self.bar.n)
        self.bar.set_description_str(name)
        self.bar.set_postfix_str("")

    def epoch(self, epoch, logs):
        loss = (logs or {}).get("val_loss")
        self.bar.set_postfix_str(f"epoch {epoch + 1}" + (f", val {loss / math.log(2):.3f} bits/char" if loss else ""))

    def __call__(self, items, desc="", unit="", **kw):
        return self._counted(items, desc) if self.one else self.each(items, desc=desc, unit=unit, **kw)

    def _counted(self, items, desc):
        total = len(items) if hasattr(items, "__len__") else None
        for i, item in enumerate(items):
            self.bar.set_postfix_str(f"{desc} {i}/{total}" if total else f"{desc} {i}")
            yield item

    def close(self):
        self.bar.close()


def prepare(project, work, base, base_meta, positions, seed, bar):
    """Gather, build the corpus and measure the base: the run's record, saved in the work dir."""
    started = time.time()
    exts = extensions_of(base_meta)
    paths, skipped = source_files(project, set(exts))
    corpus = os.path.join(work, "corpus")
    try:
        manifest = build_corpus(corpus, [("project", project)], exts=exts, val_frac=VAL_FRACTION,
                                test_frac=TEST_FRACTION, cleaning=base_meta.get("cleaning"), files=paths,
                                progress=bar.stage_bars)
    except CorpusError as err:
        raise LearnError(f"{project}: {len(paths)} {'/'.join(exts)} file(s) found; {err}") from None
    for warning in manifest["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    by_name = {rel: path for path, rel in paths}
    held_out = {name: by_name[name] for name in manifest["splits"]["test"]["paths"]}
    val_files = {name: by_name[name] for name in manifest["splits"]["val"]["paths"]}
    files = held_out_files(held_out)
    prepared = time.time()
    bar.stage("measure base")
    before = measure(Completer.load(base), files, positions, seed, bar, only=MEASURED,
                     positions_detail=True, max_chars=MEASURE_CHARS)
    record = {"project": project, "base": base, "skipped": skipped, "files": manifest["files"],
              "splits": {k: {"files": v["files"], "chars": v["chars"]} for k, v in manifest["splits"].items()},
              "held_out": held_out, "val_files": val_files, "positions": positions, "seed": seed,
              "before": summary(before),
              "seconds": {"prepare": round(prepared - started, 1), "measure": round(time.time() - prepared, 1),
                          "complete": before["server_defaults"]["seconds"]}}
    modeldir.write_json(os.path.join(work, RECORD), record)
    return record


def learn(project, out, base=None, max_minutes=10.0, positions=POSITIONS, seed=0, restart=False,
          learning_rate=LEARNING_RATE, max_passes=MAX_PASSES, show_progress=True, verbose=1, policy_on_val=True,
          models=SHIPPED):
    """Fine-tune `base` on the project dir into the model dir `out`; returns its meta (see run()).
    base None: the model of `models` whose language has the most source in the project
    (model.training.base.choose_base), named on stderr.
    verbose 1: one progress bar for the whole run (show_progress), 2: each stage's own bars and
    Keras's epoch lines, 0: neither."""
    if base is None:
        choice = choose_base(project, models)
        print(choice.line(), file=sys.stderr)
        base = choice.path
    bar = RunBar(show_progress and verbose != 0, one=verbose == 1)
    try:
        return run(project, out, base, max_minutes, positions, seed, restart, learning_rate, max_passes, verbose,
                   policy_on_val, bar)
    finally:
        bar.close()


def run(project, out, base, max_minutes, positions, seed, restart, learning_rate, max_passes, verbose,
        policy_on_val, bar):
    """Fine-tune `base` on the project dir into the model dir `out`; returns its meta.
    max_passes: over the train split at most (the time left of max_minutes and early stopping
    on val usually end the run first).
    policy_on_val: refit the policy's floors on the val files (fit_policy_on_val); False keeps
    the base's.
    Raises LearnError (also when the tuned model is worse), ProjectError, TrainingError, ModelDirError."""
    started = time.time()
    project, base = os.path.abspath(project), os.path.abspath(base)
    base_meta, _, _ = modeldir.load(base)
    work = modeldir.partial_dir(out)
    record_path = os.path.join(work, RECORD)
    record = None
    if os.path.exists(record_path) and not restart:
        with open(record_path) as f:
            record = json.load(f)
        if (record["project"], record["base"]) != (project, base):
            raise LearnError(f"{work} holds an unfinished run on {record['project']} from {record['base']}; "
                             f"pass --restart to discard it")
        print(f"resuming the run in {work}", file=sys.stderr)
    if record is None:
        bar.stage("corpus")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        try:
            record = prepare(project, work, base, base_meta, positions, seed, bar)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)  # nothing worth resuming yet
            raise
    corpus = os.path.join(work, "corpus")
    split = record["splits"]
    print(f"{project}: {split['train']['files']} files to learn from ({split['train']['chars']:,} chars), "
          f"{split['val']['files']} to validate on, {split['test']['files']} held out to measure on "
          f"({split['test']['chars']:,} chars)", file=sys.stderr)

    # The time for training: the budget less what preparing took, what the second measurement
    # will take (as long as the first: the same files and positions) and, to refit the policy,
    # both models completing as many positions of val, ungated (as long as the first's completions).
    seconds = record["seconds"]
    state = modeldir.read_state(work)
    refit = 2 * seconds.get("complete", seconds["measure"]) if policy_on_val else 0
    train_budget = max_minutes * 60 - seconds["prepare"] - 2 * seconds["measure"] - refit - 0.05 * max_minutes * 60
    left = train_budget - state.get("train_seconds", 0.0)
    try:
        batch, seq = network.fit_shape(split["train"]["chars"], min(split["val"]["chars"], VAL_CHARS), prefer=SHAPE)
    except ValueError as err:
        raise LearnError(f"{project}: too little code to learn from ({err})") from None
    pass_steps = (split["train"]["chars"] - 1) // batch // seq
    steps = min(EPOCH_STEPS, pass_steps)
    epochs = math.ceil(max_passes * pass_steps / steps)
    if state and left <= 0:
        epochs = state["epoch"] + 1  # the budget is spent: write the best epoch so far
    if left < 60:
        print(f"warning: {max(left, 0) / 60:.1f} minutes left for training in a budget of {max_minutes:g}",
              file=sys.stderr)
    bar.stage("train")
    meta = train(corpus, out, base=base, batch_size=batch, seq_len=seq, learning_rate=None if state else learning_rate,
                 epochs=epochs, steps_per_epoch=steps, max_minutes=max(left, 1) / 60, patience=PATIENCE,
                 val_chars=VAL_CHARS, resume=bool(state), install=False, sample_every=0,
                 verbose=0 if bar.one else verbose, on_epoch=bar.epoch)

    # Complete the model dir: what the base serves by (SERVED_AS_BASE); the match weights fitted on
    # val where it saw enough, the base's elsewhere.
    meta["match"] = merged_match(meta["match"], base_meta.get("match"))
    for key in SERVED_AS_BASE:
        if key in base_meta:
            meta[key] = base_meta[key]
    modeldir.write_meta(work, meta, pending=True)
    loaded_meta, vocab, weights = modeldir.load(work, pending=True)
    tuned = Completer(Stepper(*weights), vocab, loaded_meta)
    if policy_on_val:
        bar.stage("refit policy")
        fitted = fit_policy_on_val(Completer.load(base), tuned, held_out_files(record.get("val_files", {})),
                                   record["positions"], record["seed"], bar)
        if fitted is not None:
            meta["policy"] = {**fitted, "base_policy": base_meta.get("policy")}
            modeldir.write_meta(work, meta, pending=True)
            tuned = Completer(Stepper(*weights), vocab, meta)
    measured = time.time()
    bar.stage("measure tuned")
    after = summary(measure(tuned, held_out_files(record["held_out"]), record["positions"], record["seed"],
                            bar, only=MEASURED, positions_detail=True,
                            max_chars=MEASURE_CHARS))
    diff = difference(record["before"], after)
    measured_chars = record["before"]["chars"]
    print(f"\nheld-out files: {len(record['held_out'])} ({record['splits']['test']['chars']:,} chars; bits/char "
          f"on {'all' if measured_chars < MEASURE_CHARS else f'the first {measured_chars:,}'}), "
          f"{record['before']['positions']['ident']} identifier and {record['before']['positions']['line']} line "
          f"positions; completions through the server's defaults\n{table(record['before'], after)}\n"
          f"{differences(diff)}")
    meta["project"] = {"root": project, "base": base, "base_created": base_meta.get("created"),
                       "files": record["files"], "splits": record["splits"], "skipped": record["skipped"],
                       "held_out": sorted(record["held_out"]), "before": brief(record["before"]), "after": brief(after),
                       "difference": diff,
                       "seconds": {**seconds, "train": meta["training"]["train_seconds"],
                                   "measure_after": round(time.time() - measured, 1),
                                   "total_last_run": round(time.time() - started, 1)}}
    modeldir.write_meta(work, meta, pending=True)
    reasons = worse(record["before"], after)
    if reasons:
        raise LearnError(f"the tuned model is worse than the base on the held-out files ({'; '.join(reasons)}), "
                         f"so {out} was not written; the run stays in {work}")
    modeldir.install(work, out, drop=("corpus", RECORD, modeldir.CHECKPOINTS))
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.training.learn", description=__doc__.split("\n\n")[0])
    p.add_argument("project", metavar="PROJECT_DIR", help="the project to learn (a directory of source code)")
    p.add_argument("--out", required=True, help="model dir to write (worked on in OUT.partial, renamed into place)")
    p.add_argument("--base", help="model dir to start from (default: the shipped model, from model/pretrained/, "
                                   "of the language with the most source bytes in the project)")
    p.add_argument("--max-minutes", type=float, default=10.0,
                   help="time for the whole run, both measurements included (default 10)")
    p.add_argument("--positions", type=int, default=POSITIONS,
                   help=f"completion positions of each kind to measure (default {POSITIONS}, fewer if the files have fewer)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    p.add_argument("--max-passes", type=int, default=MAX_PASSES,
                   help=f"over the train split at most (default {MAX_PASSES}; time and early stopping end most runs)")
    p.add_argument("--restart", action="store_true", help="discard an unfinished run in OUT.partial")
    p.add_argument("--keep-base-policy", action="store_true",
                   help="keep the base's completion policy as it is (by default its floors are refitted on the "
                        "val files: the most keystrokes saved at the precision the base's policy gets there)")
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2],
                   help="1: one progress bar for the run (default); 2: each stage's bars and Keras's lines; 0: none")
    args = p.parse_args(argv)
    network.quiet_tensorflow()
    if args.max_minutes <= 0 or args.positions < 1 or args.max_passes < 1:
        p.error("--max-minutes, --positions and --max-passes must be positive")
    try:
        meta = learn(args.project, args.out, base=args.base, max_minutes=args.max_minutes, positions=args.positions,
                     seed=args.seed, restart=args.restart, learning_rate=args.learning_rate,
                     max_passes=args.max_passes,
                     show_progress=args.verbose != 0, verbose=args.verbose, policy_on_val=not args.keep_base_policy)
    except (LearnError, ProjectError, TrainingError, ModelDirError, CorpusError) as err:
        raise SystemExit(f"error: {err}")
    print(serving_note(args.out, meta["project"]["root"]))


def serving_note(out, root):
    """How to serve the model dir just written beside the default model (server/models.py)."""
    models_dir = os.path.dirname(os.path.abspath(out))  # absolute: gunicorn runs from the repo root
    return (f"\nwrote {out}: a model of {root} (project root recorded in its meta.json)\n"
            f"serve it beside the default model (it completes the files under {root}, the default the rest):\n"
            f"  TABCOMPLETE_MODELS=model/pretrained{os.pathsep}{models_dir} gunicorn -c server/gunicorn.conf.py\n"
            f"  (make serve serves models/ beside model/pretrained); a server already serving {models_dir} "
            f"loads it on kill -HUP <master pid>, the command its start-up line prints")


if __name__ == "__main__":
    main()
