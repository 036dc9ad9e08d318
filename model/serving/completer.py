"""Complete code with a trained model dir, fast.

    python -m model.serving.completer --model model/pretrained/python --prime "import os\nfor name in os.li"
    python -m model.serving.completer --model DIR --prime "def " --stop none --chars 400 --temperature 0.7 --seed 1

The Completer never calls model.predict once per character: the network is stepped by hand (model.serving.lstm)
with its state carried, and the state at each line start of a buffer is cached, so the next Tab in the same buffer
only runs the characters typed since. Its next-character distribution mixes the network's with two hints from the
buffer (model.serving.hints): the words already in it (inside an identifier) and a match model (what followed the
last occurrence of the recent characters).
"""
import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from model.serving import modeldir
from model.serving.beam import beam_search
from model.serving.cache import CACHE_ENTRIES, RecentStates, StateCache
from model.serving.choices import ranked_choices
from model.serving.hints import (TRAILING_WORD, WORD, BufferHints, ProjectCache, ProjectHints, WordCache, extend_word,
                                 match_predictions, match_weights, mix_match, mix_words, word_after)
from model.serving.lstm import Stepper
from model.serving.modeldir import ModelDirError
from model.serving.names import (NAME_WEIGHTS, confidence_features, context_at, merge_choices, name_confidence,
                                 name_probs, rank_names, score_names, with_name_prob)
from model.serving.policy import IDENT_CHARS, Policy, cut_result
from model.serving.reading import ContextReader
from model.serving.stop import STOP_MODES, StopRules
from model.serving.walk import TextWalk
from model.text.clean import FILE_START, clean, extension_of, language_of, quick_clean
from model.text.vocab import UNKNOWN_ID

# The network reads the last CONTEXT_CHARS cleaned characters of a buffer. Its loss is the same
# with 1000 characters of context as with 8000 (python -m model.measure.evaluate --context-curve): an
# LSTM trained with 64-char backprop windows forgets beyond that. 2000 keeps a margin and makes
# a cold buffer cost half of 4000.
CONTEXT_CHARS = 2000
GATE_CHOICES = 3  # inside a name, the units whose names the name floor's ranking reads (the plug-ins' menu)
SEARCH_EXTRA = 1  # inside a name, the choice search looks for this many units more than asked (dev: 2 no better)


def request_chars(context_chars=CONTEXT_CHARS):
    """The raw characters of a buffer a request carries for a model that reads context_chars
    cleaned ones: twice as many, since cleaning drops comments and docstrings."""
    return 2 * context_chars


REQUEST_CHARS = request_chars()  # 4000: what the plug-ins send, the server keeps, evaluate feeds


def carried(text, suffix="", limit=REQUEST_CHARS):
    """(text, suffix) as a request carries them: the last `limit` characters of the buffer before
    the cursor, starting at a line start when there is one in the first quarter of them, so the
    cut moves once a line rather than once a keystroke and the state cache keeps hitting; and
    the first `limit` characters after the cursor (only the first line is used)."""
    if len(text) > limit:
        tail = text[-limit:]
        line_start = tail.find("\n", 0, limit // 4) + 1
        text = tail[line_start:] if line_start else tail
    return text, suffix[:limit]


@dataclass
class Completion:
    text: str                        # the best completion ("" when the model is unsure)
    alternatives: list               # up to n completions, best first (alternatives[0] == text)
    probs: list                      # probability of each character of `text`
    stop_reason: str = ""            # line, block, max_chars, min_prob, repeat, in_comment, ...
    context_chars: int = 0           # characters of (cleaned) buffer the model read
    new_chars: int = 0               # of those, how many it had to run (the rest came from the cache)
    alternative_probs: list = field(default_factory=list)
    choices: list = field(default_factory=list)  # up to `choices` (text, probability), best first


# -- The Completer ------------------------------------------------------------------------------

class Completer:
    CONTEXT_CHARS = CONTEXT_CHARS

    # Weight of the buffer's words inside an identifier (WordCache), chosen on the val split with
    # python -m model.measure.evaluate --word-weight W (docs/experiments/2026-11-21-word-weights.md).
    WORD_WEIGHT = 0.5
    # The project files' words weigh less than the buffer's (a name in a sibling file is less
    # likely here than one in this file); chosen on the dev set (docs/benchmarks.md).
    PROJECT_WORD_WEIGHT = 0.3

    def __init__(self, stepper, vocab, meta, context_chars=CONTEXT_CHARS, cache_entries=CACHE_ENTRIES,
                 word_weight=WORD_WEIGHT, use_match=True, words_after=True, rank_names=None, shared_states=None):
        if not 0 <= word_weight <= 1:
            raise ValueError("word_weight must be between 0 and 1")
        self.stepper, self.vocab, self.meta = stepper, vocab, meta
        self.language = meta.get("language", "python")
        # Requests are cleaned as the corpus's files were (a model dir from before meta.json
        # recorded the extension: its language's).
        self.ext = meta.get("extension") or extension_of(self.language)
        # Other languages it completes, each cleaned as its own files are (meta.json "serves").
        self.serves = tuple(meta.get("serves", ()))
        self.cleaning = meta.get("cleaning", {})
        self.context_chars = context_chars
        self.word_weight = word_weight
        self.words_after = words_after  # the words after the cursor count too (as in an editor's word list)
        # Inside a name, rank the decoder's and the buffer's names (model.serving.names); a model
        # dir's meta.json "rank_names": false serves as before 0.13.0 (to measure beside it).
        self.ranks_names = meta.get("rank_names", True) if rank_names is None else rank_names
        # meta.json "name_weights": another ranking of names (to measure beside the shipped one).
        self.name_weights = {**NAME_WEIGHTS, **meta.get("name_weights", {})}
        # meta.json "name_floor": "decoder" has the name floor read the decoder's probability, as before 0.14.0.
        # "calibrated": it reads the probability that the ranking's name is right (names.name_confidence).
        self.name_floor = meta.get("name_floor", "ranking")
        self.floor_reads_ranking = self.name_floor != "decoder"
        # Where the model gives the typed name's end here more than the best ranked name, the name is
        # whole and the completion goes on after it; meta.json "whole_names": false serves as before 0.15.0.
        self.keeps_whole_names = bool(meta.get("whole_names", True))
        self.names_seen = None  # a list: each ranking's (scored names, NameContext, name taken) is appended to it
        # shared_states (cache.SharedStates): states a server's other workers stored, shared.
        self.cache = StateCache(cache_entries, shared_states, stepper.digest() if shared_states else b"", stepper.units)
        self.recent = RecentStates()
        # Never emit the unknown character or a file start: they are not code a user wants.
        self.banned = [UNKNOWN_ID] + [i for i in (vocab.index.get(FILE_START),) if i is not None]
        self.newline_id = vocab.index.get("\n")
        # meta.json "adapt": {"rate": R}: the output layer adapted to each buffer as it is read (model.serving.adapt).
        self.reader = ContextReader(stepper, self.newline_id, self.cache, self.recent, meta.get("adapt", {}).get("rate"))
        # Where a word ends, the model says what follows it: its distribution over these.
        self.not_word_char = np.array([0.0] + [0.0 if WORD.match(c) or c.isdigit() else 1.0 for c in vocab.chars])
        self.not_word_char[self.banned] = 0.0
        try:
            self.match_weights = match_weights(meta.get("match")) if use_match else None
        except ValueError as err:
            raise ModelDirError(f"meta.json 'match' is unusable ({err}); refit it with python -m model.measure.evaluate "
                                f"--model DIR --corpus DIR --split val --fit-match") from None
        try:
            self.policy = Policy.from_meta(meta)
            self.files_policy = Policy.from_meta(meta, "policy_files", default=self.policy)
            # Without fitted weights, a project file's match counts half as much as the buffer's.
            project = meta.get("project_match")
            self.project_weights = (match_weights(project) if project is not None else
                                    None if self.match_weights is None else self.match_weights / 2)
        except ValueError as err:
            raise ModelDirError(f"meta.json: {err}; refit it with python -m model.measure.benchmark --set dev --fit-policy") from None
        self.project_word_weight = self.PROJECT_WORD_WEIGHT if word_weight > 0 else 0.0
        self.project_cache = ProjectCache()

    @classmethod
    def load(cls, model_dir, **kwargs):
        meta, vocab, weights = modeldir.load(model_dir)
        return cls(Stepper(*weights), vocab, meta, **kwargs)

    def serving(self, language):
        """This Completer, changed to serve `language` (its own or one it serves) as its own."""
        if language != self.language and language not in self.serves:
            raise ValueError(f"the {self.language} model does not serve {language} (serves: {list(self.serves)})")
        self.language, self.ext = language, self.ext if language == self.language else extension_of(language)
        return self

    # The context: whole buffer, cleaned like the corpus, capped at a stable line start.
    def context(self, text, ext=None):
        cleaned = clean(text, ext or self.ext, self.cleaning, partial=True)
        body = cleaned.text
        if len(body) + 1 <= self.context_chars:
            return FILE_START + body, cleaned
        # Cut at a line start chosen by the line's content, not by position: as the user types
        # (and the editor's window slides) the cut stays put, so the state cache keeps hitting.
        lo = len(body) - self.context_chars
        hi = lo + self.context_chars // 4
        cut = body.find("\n", lo) + 1
        pos = cut
        while 0 < pos < hi:
            line_end = body.find("\n", pos)
            if line_end < 0:
                break
            if hashlib.blake2b(body[pos:line_end].encode(), digest_size=2).digest()[0] % 8 == 0:
                cut = pos
                break
            pos = line_end + 1
        return body[cut or lo:], cleaned

    def complete(self, text, suffix="", max_chars=80, stop="line", temperature=0.0, n=1, min_prob=None, seed=None,
                 files=(), path=None, choices=0, language=None):
        """Complete the buffer `text` (before the cursor). min_prob None: the completion policy
        decides how far to go; a number: stop at the first character less likely than that (0:
        never). files: (path, text) of the project's other files, most relevant first. path: the
        buffer's own path (it never matters to the network; a server picks models by it). language:
        the request's, when it is one the model serves besides its own (meta.json "serves"): the
        buffer is cleaned as that language's files are. choices:
        also rank up to that many units the model thinks likely (model.serving.choices); the
        completion is the same with or without them."""
        if stop not in STOP_MODES:
            raise ValueError(f"stop must be 'line', 'block' or 'none', not {stop!r}")
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError("max_chars must be a positive integer")
        if not isinstance(n, int) or n < 1:
            raise ValueError("n must be a positive integer")
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not isinstance(choices, int) or choices < 0:
            raise ValueError("choices must be a non-negative integer")
        ext = extension_of(language) if language in self.serves else self.ext
        context, cleaned = self.context(text, ext)
        if cleaned.cursor_in_removed:
            return Completion("", [], [], "in_comment", len(context), 0)
        ids = self.vocab.encode(context)
        state, new_chars, head = self.reader.read(ids)
        rules = StopRules(context, suffix, stop, max_chars)
        typed = TRAILING_WORD.search(context[-200:])
        typed = typed.group() if typed else ""
        after = quick_clean(suffix, ext, self.cleaning) if self.words_after else ""
        hints = self.hints(cleaned.text, typed, self.project_for(files), after)
        hints.head = head
        policy = None if min_prob is not None else self.files_policy if hints.project is not None else self.policy
        names = units = None
        if temperature == 0 and n == 1:
            ranks = typed and self.ranks_names and self.word_weight > 0 and not min_prob
            # Where names are ranked, the name floor reads the ranking's probability (the decoder goes through its name).
            decoding = replace(policy, ident_floor=0.0) if ranks and policy and self.floor_reads_ranking else policy
            results = [self._decode(state, rules, min_prob, hints, typed, policy=decoding)]
            # Where the decoder ends the name at the cursor, what follows is a new token, which the choice search
            # ranks as anywhere (on dev, ranking longer names there lost line precision: the name typed was whole).
            if ranks and IDENT_CHARS.match(results[0][0]).group():
                project_words = hints.project.project.words if hints.project is not None else None
                evidence = context_at((hints.words, project_words), cleaned.text, after, typed, language_of(ext))
                results, names, units = self._finish_name(state, rules, min_prob, hints, typed, decoding, results[0],
                                                          choices, evidence)
        elif temperature == 0:
            results = beam_search(self._distributions, self.stepper.step, self.vocab, state, rules, min_prob, n, hints,
                                  typed)
        else:
            rng = np.random.default_rng(seed)
            results = [self._decode(state, rules, min_prob, hints, typed, temperature, rng, policy) for _ in range(n)]
            results.sort(key=lambda r: -_mean_logprob(r[1]))
        if policy is not None:
            results = [cut_result(r, policy, bool(typed)) for r in results]
        alternatives, seen = [], set()
        for text_, probs, reason in results:
            if text_ and text_ not in seen:
                seen.add(text_)
                alternatives.append((text_, probs, reason))
        if not choices:
            ranked = []
        elif names is not None:
            ranked = merge_choices(units, names, choices)
        else:
            ranked = self._choices(self._walk(state, hints, typed), typed, rules, choices, alternatives[:1])
        if not alternatives:
            reason = results[0][2] if results else "empty"
            return Completion("", [], [], reason, len(context), new_chars, choices=ranked)
        best = alternatives[0]
        return Completion(best[0], [a[0] for a in alternatives[:n]], best[1], best[2], len(context), new_chars,
                          [a[1] for a in alternatives[:n]], ranked)

    def _walk(self, state, hints, typed):
        """The request's TextWalk: the distributions after texts from the cursor, each stepped once."""
        def mix(rows, texts):
            return [self._mix_hints([p], hints, word_after(typed, text), [self.vocab.index[c] for c in text])[0]
                    for p, text in zip(self._network_probs(rows), texts)]

        logits_many = self.stepper.logits_many if hints.head is None else \
            (lambda states: hints.head.logits(np.stack([s[-1][0] for s in states])))
        return TextWalk(state, self.stepper.step_many, logits_many, self.vocab.index.get, mix)

    def _choices(self, walk, typed, rules, k, completion):
        """Up to k ranked units (model.serving.choices), the completion the policy kept among them."""
        extra = [(text, float(np.prod(probs))) for text, probs, _ in completion]
        return ranked_choices(walk.distributions, lambda char_id: self.vocab.chars[char_id - 1], k, bool(typed),
                              rules.rest_of_line, extra)

    def hints(self, buffer, typed="", project=None, after=""):
        """BufferHints for a cleaned buffer (all of it, not just the context the network reads),
        the text after the cursor (its words), and the project's files (ProjectFiles, or None)."""
        # Less the word being typed: it is not a word of the buffer yet.
        words = WordCache(buffer[:len(buffer) - len(typed)], after) if self.word_weight > 0 else None
        ids = self.vocab.encode(FILE_START + buffer) if self.match_weights is not None or project else None
        hints = BufferHints(words, ids if self.match_weights is not None else None)
        hints.project = ProjectHints(project, ids) if project is not None and project.chars else None
        return hints

    def project_for(self, files):
        """ProjectFiles for a request's files, or None (hints.ProjectCache: each file cleaned
        once per content, so resending unchanged files costs a hash of their text)."""
        return self.project_cache.get(files, lambda text: self.vocab.encode(FILE_START + text),
                                      lambda text: quick_clean(text, self.ext, self.cleaning))

    def predictions(self, doc):
        """What the Completer sees at each character of a cleaned document after its first, read
        from its start: (the ids, the network's log-probabilities (rows), the match model's
        prediction (id, or -1 where it has none or a banned one) and match length)."""
        ids = self.vocab.encode(FILE_START + doc)
        _, outputs = self.stepper.run(ids[:-1], self.stepper.zero_state(), outputs=True)
        logp = self.stepper.log_probs(outputs) if self.reader.rate is None else self.reader.adapted_log_probs(
            ids, outputs, self.context_chars)
        # Only as far back as a request carries.
        preds, lengths = match_predictions(ids, window=request_chars(self.context_chars))
        preds, lengths = preds[1:], lengths[1:]
        preds[np.isin(preds, self.banned)] = -1
        return ids[1:], logp, preds, lengths

    def _finish_name(self, state, rules, min_prob, hints, typed, policy, greedy, choices, context):
        """Inside a name, the name the completion finishes: the best ranked of the decoder's and
        the buffer's and files' words with the typed prefix (model.serving.names), decoded through
        when not the decoder's, its characters carrying the ranking's probability (_with_name_prob).
        Returns (results, the ranked names, the choice search's units, whose names are ranked too
        but never change which name the completion takes). The decoder's name is not empty."""
        decoded = IDENT_CHARS.match(greedy[0]).group()
        # More units than choices: several are one name with different marks after it. The name floor
        # reads a ranking with GATE_CHOICES units' names whatever `choices` asks: the completion never depends on it.
        walk = self._walk(state, hints, typed)
        gate_units = self._choices(walk, typed, rules, GATE_CHOICES + SEARCH_EXTRA, [greedy])
        units = gate_units if choices == GATE_CHOICES else self._choices(walk, typed, rules, choices + SEARCH_EXTRA,
                                                                           [greedy]) if choices else []
        gate, menu = ([decoded, *context.words, *(IDENT_CHARS.match(text).group() for text, _ in some)]
                      for some in (gate_units, units))
        scored = score_names(list(dict.fromkeys(["", *gate, *menu])), walk.distributions, self.vocab.index.get,
                             lambda p: (p * self.not_word_char).sum())
        gate_scored = {name: scored[name] for name in gate if name in scored}
        gate_ranked = rank_names(gate_scored, context, self.name_weights)
        ranked = rank_names({name: scored[name] for name in menu if name in scored}, context, self.name_weights)
        completing = {decoded, *context.words}
        best = next((name for name, _ in gate_ranked if name in completing), decoded)
        model = name_probs(scored)  # the model's probability of each name; "": the typed name's end at the cursor
        probs = model if self.keeps_whole_names else {}
        if probs.get("", 0.0) > probs.get(best, 0.0):
            best = ""
        result = greedy if best == decoded else self._decode(state, rules, min_prob, hints, typed, policy=policy,
                                                              forced=best)
        if self.names_seen is not None:  # model.measure.name_weights fits the ranking and the confidence on these
            self.names_seen.append((gate_scored, context, best))
        if self.floor_reads_ranking and best:
            prob = dict(gate_ranked).get(best)
            if prob and self.name_floor == "calibrated":
                gate_model = {name: model[name] for name in gate_scored if name in model}
                prob = name_confidence(confidence_features(best, gate_model, gate_ranked, context))
            result = with_name_prob(result, best, prob)
        return [result], ranked, units

    def _distributions(self, state, hints, word, generated, temperatures=(1.0,)):
        """The next character's distribution at each temperature: the network's, mixed with the
        buffer's words while inside an identifier, then with the match model's prediction."""
        logits = self.stepper.logits(state) if hints.head is None else hints.head.logits(state[-1][0])
        return self._mix_hints([self._network_probs(logits, t) for t in temperatures], hints, word, generated)

    def _network_probs(self, logits, temperature=1.0):
        """The network's next-character distribution (rows for rows of logits); banned ids never."""
        z = np.array(logits, dtype=np.float64) / max(temperature, 1e-6)
        z[..., self.banned] = -np.inf
        p = np.exp(z - z.max(axis=-1, keepdims=True))
        return p / p.sum(axis=-1, keepdims=True)

    def _mix_hints(self, ps, hints, word, generated):
        """The distributions ps mixed with the hints after `generated` (read once for all of them)."""
        votes, (pred, length), project = hints.word_votes(word), hints.match(generated), hints.project
        project_votes = project.word_votes(word) if project is not None else None
        project_pred, project_length = project.match(generated) if project is not None else (-1, 0)
        out = []
        for p in ps:
            p = mix_words(p, votes, self.word_weight, self.not_word_char, self.vocab.index)
            p = mix_words(p, project_votes, self.project_word_weight, self.not_word_char, self.vocab.index)
            if pred > 0 and pred not in self.banned:
                p = mix_match(p, pred, length, self.match_weights)
            if project_pred > 0 and project_pred not in self.banned and self.project_weights is not None:
                p = mix_match(p, project_pred, project_length, self.project_weights)
            out.append(p)
        return out

    def _decode(self, state, rules, min_prob, hints, word="", temperature=0.0, rng=None, policy=None, forced=None):
        """One completion, a character at a time: greedy at temperature 0, else sampled. With a
        policy, it stops once the policy would keep no more of it. forced: a name it goes
        through first (and ends there: the next character is no name character; "": the name
        typed ends at the cursor)."""
        out, probs, ids, in_word = [], [], [], bool(word)
        while True:
            if forced is not None and len(out) < len(forced):
                p, = self._distributions(state, hints, word, ids)
                next_id = self.vocab.index[forced[len(out)]]
            elif temperature == 0:
                p, = self._distributions(state, hints, word, ids)
                next_id = int(np.argmax(p * self.not_word_char if forced is not None and len(out) == len(forced) else p))
            else:
                p, q = self._distributions(state, hints, word, ids, (1.0, temperature))
                next_id = int(rng.choice(len(q), p=q))
            if min_prob is not None and p[next_id] < min_prob:
                return rules.finish(out, probs, "min_prob")
            char = self.vocab.chars[next_id - 1]
            out.append(char)
            probs.append(float(p[next_id]))
            reason = rules.check(out)
            if reason:
                return rules.finish(out, probs, reason)
            if policy is not None and policy.stop_early("".join(out), probs, in_word):
                return rules.finish(out, probs, "policy")
            word = extend_word(word, char)
            ids.append(next_id)
            state = self.stepper.step(next_id, state)


def _mean_logprob(probs):
    return float(np.mean(np.log(np.maximum(probs, 1e-12)))) if len(probs) else -1e9


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.serving.completer", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=modeldir.DEFAULT)
    p.add_argument("--prime", default="", help="the buffer before the cursor ('\\n' and '\\t' escapes work)")
    p.add_argument("--prime-file", help="read the buffer from this file instead")
    p.add_argument("--chars", type=int, default=80, help="max characters to generate")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", choices=STOP_MODES, default="line")
    p.add_argument("--n", type=int, default=1, help="alternatives")
    p.add_argument("--min-prob", type=float, default=None, help="stop where the model is less sure than this")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    prime = args.prime.encode("utf-8", "surrogatepass").decode("unicode_escape") if "\\" in args.prime else args.prime
    if args.prime_file:
        with open(args.prime_file, encoding="utf-8", errors="replace") as f:
            prime = f.read()
    try:
        completer = Completer.load(args.model)
        t0 = time.perf_counter()
        result = completer.complete(prime, max_chars=args.chars, stop=args.stop, temperature=args.temperature,
                                    n=args.n, min_prob=args.min_prob, seed=args.seed)
    except (ModelDirError, ValueError) as err:  # no model dir; --chars 0, --n 0, a negative --temperature
        raise SystemExit(f"error: {err}")
    elapsed_ms = (time.perf_counter() - t0) * 1000
    if args.json:
        print(json.dumps({"completion": result.text, "alternatives": result.alternatives, "stop_reason": result.stop_reason,
                          "probs": [round(p, 4) for p in result.probs], "elapsed_ms": round(elapsed_ms, 2)}))
    else:
        sys.stdout.write(prime + "\x1b[1m" + result.text + "\x1b[0m\n" if sys.stdout.isatty() else prime + result.text + "\n")
        for alt in result.alternatives[1:]:
            print(f"  alt: {alt!r}")
        print(f"[{result.stop_reason}, {elapsed_ms:.1f} ms]", file=sys.stderr)


if __name__ == "__main__":
    main()
