"""Names: inside an identifier, which name the user is writing.

The greedy decode finishes the name the network finds most likely, and the choice search ranks
what it reaches in a few dozen steps; both miss names the buffer uses often but the network
rates low (a project's own `validate_values`, `ConfigObjError`). An editor's word list knows
those names but not which one fits here. So the candidates are both (the decoder's name and the
words of the buffer and of the project's files that start with what is typed), each is scored
by the model (the probability of its characters and of the name ending there, the same mixed
distribution the completion decodes with), and the score adds what the buffer says of it:

    score(name) = sum of NAME_WEIGHTS[f] * f(name) over the FEATURES below
                = 0.42 log P_model(name) + 1.9 [a word of the buffer or files]
                  + 1.03 log(1 + uses right after the token before the typed part) + ...

Until 2026-12-03 the score was P_model(name) * (1 + uses in the buffer) ** 1.5 (chosen on
Python's dev set: docs/experiments/2026-12-02-names-ranked-with-the-buffer.md). The weights now
are a conditional logit fitted on the dev sets of all five languages pooled (1,499 identifier
positions; `python -m model.measure.name_weights`). Fitted on the other four languages alone,
each language's right name ranks first more often than under the old rule (Python 0.733 ->
0.770, C 0.627 -> 0.657, JavaScript 0.677 -> 0.710, TypeScript 0.663 -> 0.703, Lua 0.676 ->
0.732) and among the first three too. The model's own probability weighs less than it did
(0.42 per nat): the buffer's evidence of where a name is used decides more.
Record: docs/experiments/2026-12-03-names-ranked-by-fitted-evidence.md.
"""
import bisect
import math
import re
from dataclasses import dataclass, field

from model.serving.defined import defined_in_scope
from model.serving.policy import tidy

IDENT = re.compile(r"[A-Za-z0-9_]*")

MAX_CANDIDATES = 16  # the buffer's and files' most used words with the typed prefix
MAX_NAME = 40  # characters: longer words are not scored

# What a name's score reads, each a number the ranking weighs (NAME_WEIGHTS): the model's log
# probability of the name, whether the buffer's or files' words have it, how often the buffer
# has it right after the token that stands before the typed part (`self.` `def ` `import `),
# how often after the cursor, in all, its length in characters, and whether the cursor's
# scope defines it already where the cursor is in a definition's name (model.serving.defined).
FEATURES = ("log_prob", "in_words", "after_token", "after_cursor", "uses", "length", "defined")
# Fitted 2026-12-03 on the dev sets of all five languages pooled (1,499 positions,
# `python -m model.measure.name_weights`); before, the rule was log_prob 1 and uses 1.5 alone.
NAME_WEIGHTS = {"log_prob": 0.42, "in_words": 1.9, "after_token": 1.03, "after_cursor": 0.37, "uses": 0.13,
                "length": 0.12, "defined": -4.37}
PREV_TOKEN = re.compile(r"(?:(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*|[^\sA-Za-z0-9_])[ \t]*\Z")


@dataclass
class NameContext:
    """What the buffer says about the names that finish the typed part, the network aside."""
    words: dict  # {rest of the name: uses in the buffer} (word_candidates)
    after_token: dict = field(default_factory=dict)  # {rest: uses after the token before the typed part}
    after_cursor: dict = field(default_factory=dict)  # {rest: uses after the cursor}
    defined: set = field(default_factory=set)  # rests of the names the scope defines (model.serving.defined)


def name_context(words, before, after, typed, defined=()):
    """NameContext for the cursor after `before` (the buffer, ending in the typed part of a
    name), with `after` the buffer after it and words the candidates' uses (word_candidates)."""
    head = before[:len(before) - len(typed)]
    after = after[len(IDENT.match(after).group()):]  # less the rest of the name the cursor is in
    context = NameContext(words, defined={name[len(typed):] for name in defined if name.startswith(typed)})
    if not typed:
        return context
    name = re.escape(typed) + r"[A-Za-z0-9_]*"
    prev = PREV_TOKEN.search(head[-80:])  # (a search from the end of 80 characters, not of the buffer)
    if prev:
        token = prev.group().rstrip()
        rest = head[:len(head) - len(prev.group())] + "\n" + after
        # A pattern that starts with its literal is searched fast; a word token must match whole.
        whole = token[0].isalnum() or token[0] == "_"
        for m in re.finditer(re.escape(token) + r"[ \t]*(" + name + ")", rest):
            if not (whole and m.start() and _is_name_char(rest[m.start() - 1])):
                key = m.group(1)[len(typed):]
                context.after_token[key] = context.after_token.get(key, 0) + 1
    for m in re.finditer(name, after):
        if not (m.start() and _is_name_char(after[m.start() - 1])):
            key = m.group()[len(typed):]
            context.after_cursor[key] = context.after_cursor.get(key, 0) + 1
    return context


def _is_name_char(char):
    return char.isalnum() or char == "_"


def context_at(word_caches, before, after, typed, language):
    """A request's NameContext: the candidates from its WordCaches (the buffer's, the files'),
    the definitions of the cursor's scope in its language (model.serving.defined)."""
    return name_context(word_candidates(word_caches, typed), before, after, typed,
                        defined_in_scope(before, after, language))


def name_features(rest, prob, context):
    """The FEATURES of the name finishing the typed part with `rest`, the model giving it `prob`."""
    return (math.log(prob), float(rest in context.words), math.log1p(context.after_token.get(rest, 0)),
            math.log1p(context.after_cursor.get(rest, 0)), math.log1p(context.words.get(rest, 0.0)),
            float(len(rest)), float(rest in context.defined))


def word_candidates(word_caches, typed, limit=MAX_CANDIDATES):
    """{rest of the name: uses in the buffer} for the words of the WordCaches (the buffer's
    first, then the files') that start with `typed` and go on past it, the most used first
    (the files' words count 0 uses in the buffer)."""
    uses, order = {}, {}
    for source, cache in enumerate(word_caches):
        if cache is None:
            continue
        i = bisect.bisect_left(cache.words, typed)
        while i < len(cache.words) and cache.words[i].startswith(typed):
            word = cache.words[i]
            i += 1
            rest = word[len(typed):]
            if not rest or len(rest) > MAX_NAME:
                continue
            count = cache.counts[word] if source == 0 else 0.0
            uses[rest] = uses.get(rest, 0.0) + count
            order[rest] = max(order.get(rest, 0.0), cache.counts[word])
    ranked = sorted(uses, key=lambda rest: (-uses[rest], -order[rest], rest))[:limit]
    return {rest: uses[rest] for rest in ranked}


def score_names(names, distributions, char_id, ends_name):
    """{name: (its characters' probabilities, the probability it ends there)} for each name
    (strings of characters after the cursor), walked as a trie a depth at a time.

    distributions(texts) -> the next character's mixed distribution after each text
    (model.serving.walk.TextWalk: the texts of a depth are stepped together); char_id(char) -> id
    or None; ends_name(p) -> the probability that what follows is not a name character."""
    out = {}
    level = [("", list(names))]  # (node text, names through it)
    while level:
        children = []
        for (text, group), p in zip(level, distributions([text for text, _ in level])):
            for name in group:
                if len(name) == len(text):
                    out[name] = (tuple(out.get(name, ())), float(ends_name(p)))
            by_char = {}
            for name in group:
                if len(name) > len(text):
                    by_char.setdefault(name[len(text)], []).append(name)
            for char, names_through in by_char.items():
                i = char_id(char)
                if i is None or p[i] <= 0:
                    continue
                for name in names_through:
                    out.setdefault(name, []).append(float(p[i]))
                children.append((text + char, names_through))
        level = children
    return {name: value for name, value in out.items() if isinstance(value, tuple)}


def name_probs(scored):
    """{name: the model's probability of it} (its characters' and its end's) for the names
    score_names scored, those it gives none left out."""
    probs = {name: math.prod(chars) * end for name, (chars, end) in scored.items()}
    return {name: p for name, p in probs.items() if p > 0}


def rank_names(scored, context, weights=NAME_WEIGHTS):
    """[(name, probability)] best first. scored: {name: (char probabilities, end probability)};
    context: a NameContext. A name's score is the weighted sum of its FEATURES; the probability
    shown is the model's for all the names shared out again in proportion to exp(score), so the
    list's probabilities fall as it goes and sum to the model's for all of them."""
    model = name_probs(scored)
    if not model:
        return []
    score = {name: sum(weights[f] * v for f, v in zip(FEATURES, name_features(name, p, context)))
             for name, p in model.items()}
    top, total = max(score.values()), sum(model.values())
    weight = {name: math.exp(s - top) for name, s in score.items()}
    total_weight = sum(weight.values())
    ranked = sorted(weight, key=lambda name: (-weight[name], name))
    return [(name, total * weight[name] / total_weight) for name in ranked]


# What the name floor reads where meta.json has "name_floor": "calibrated": the probability that
# the name the completion takes is the file's, a logistic over what the ranking says of it (its
# share of the ranking, the model's probability of all the candidates, its lead over the next,
# its own probability and buffer evidence). The ranking's share alone ranks a sure name and one of
# many near-ties alike wherever the model gives the candidates little in all.
CONFIDENCE_FEATURES = ("log_share", "log_total", "margin", "log_prob", "in_words", "uses", "after_token")
# Fitted 2026-12-04 on the dev sets of all five languages pooled (`python -m model.measure.name_weights
# --positions 1500`; record: docs/experiments/2026-12-04-a-calibrated-name-floor.md),
# 1,500 identifier positions of each; held out by language, at one wrong name typed in ten positions
# the right one is typed at 0.520 of C's (the ranking's probability: 0.495), 0.683 of Lua's (0.649),
# Python 0.640 (0.612), JavaScript 0.662 (0.645), TypeScript 0.658 (0.642).
NAME_CONFIDENCE = {"bias": 0.2758, "log_share": 1.1143, "log_total": 0.6344, "margin": 2.2583, "log_prob": 0.2136,
                   "in_words": 0.2126, "uses": 0.1485, "after_token": 0.0224}


def confidence_features(name, model, ranked, context):
    """The CONFIDENCE_FEATURES of `name` (a key of model and of ranked). model: {name: the model's
    probability} (name_probs); ranked: [(name, probability)] from rank_names over the same names."""
    total = sum(model.values())
    shares = {other: p / total for other, p in ranked}
    lead = shares[name] - max((p for other, p in shares.items() if other != name), default=0.0)
    return (math.log(max(shares[name], 1e-12)), math.log(total), lead, math.log(model[name]),
            float(name in context.words), math.log1p(context.words.get(name, 0.0)),
            math.log1p(context.after_token.get(name, 0)))


def name_confidence(features, weights=NAME_CONFIDENCE):
    """The probability the logistic gives: 1 / (1 + exp(-(bias + sum of weights * features)))."""
    z = weights["bias"] + sum(weights[f] * v for f, v in zip(CONFIDENCE_FEATURES, features))
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def merge_choices(units, ranked, k):
    """Inside a name, the choices: one per name, in the names' ranked order (ranked: [(name,
    probability)] from rank_names), each shown as the search's most probable unit for that name
    (the name with the mark after it, `get(`; never a space after it), else the bare name; the name "" (the word ends
    where the cursor is) only where the search found a unit for it."""
    shown = {}
    for text, _ in units:
        name = IDENT.match(text).group()
        # The decoder's completion is among the units as it ran, perhaps on to a space the menu would
        # show as nothing and insert anyway (`ret` -> `urn `): shown as the policy would answer it.
        shown.setdefault(name, tidy(text) or text)
    out = []
    for name, prob in ranked:
        text = shown.get(name, name)
        if text.strip() and prob > 0:
            out.append((text, min(prob, 1.0)))
        if len(out) == k:
            break
    return out


def with_name_prob(result, name, prob):
    """A completion (text, probs, reason) with the characters of the name it starts with each
    carrying the n-th root of `prob`, the ranking's probability for the name (their product is
    what the policy's name floor reads), or as it is where the ranking has none for it. Inside
    a name the floor reads the ranking, not the decoder: on each language's dev set, at the same
    share of wrong names inserted, it inserts the right name more often."""
    text, probs, reason = result
    if not prob or not name or len(probs) < len(name):
        return result
    return text, [prob ** (1 / len(name))] * len(name) + list(probs[len(name):]), reason
