"""Names: inside an identifier, which name the user is writing.

The greedy decode finishes the name the network finds most likely, and the choice search ranks
what it reaches in a few dozen steps; both miss names the buffer uses often but the network
rates low (a project's own `validate_values`, `ConfigObjError`). An editor's word list knows
those names but not which one fits here. So the candidates are both (the decoder's name and the
words of the buffer and of the project's files that start with what is typed), each is scored
by the model (the probability of its characters and of the name ending there, the same mixed
distribution the completion decodes with), and the score is weighted by how often the buffer
uses the name:

    score(name) = P_model(name) * (1 + uses in the buffer) ** NAME_PRIOR

On the 15 dev packages (300 identifier positions, 2026-12-02) the right name came first at
0.737 of them (the greedy decode: 0.717) and among the first three at 0.887 (the choice search:
0.840); with the packages' files 0.740 and 0.900 (0.727 and 0.853). NAME_PRIOR 1.5 was the
best of 0-4 there (1-3 within 0.01); the files' own counts did not help and carry no weight.
Record: docs/experiments/2026-12-02-names-ranked-with-the-buffer.md.
"""
import bisect
import math
import re

IDENT = re.compile(r"[A-Za-z0-9_]*")

NAME_PRIOR = 1.5
MAX_CANDIDATES = 16  # the buffer's and files' most used words with the typed prefix
MAX_NAME = 40  # characters: longer words are not scored


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


def decoder_name_stands(decoded, decoded_prob, uses, prior=NAME_PRIOR):
    """True when no other candidate can outrank the decoder's name, so none need scoring: the
    others' probabilities sum to at most 1 - decoded_prob (decoded_prob: a lower bound on the
    decoder's name's), and none is used more than the most used of them."""
    most_used = max((count for name, count in uses.items() if name != decoded), default=None)
    if most_used is None:
        return True
    return decoded_prob * (1 + uses.get(decoded, 0.0)) ** prior >= (1 - decoded_prob) * (1 + most_used) ** prior


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


def rank_names(scored, uses, prior=NAME_PRIOR):
    """[(name, probability)] best first. scored: {name: (char probabilities, end probability)};
    uses: {name: uses in the buffer}. The probability is the model's for the name (its
    characters' and the end's) with the candidates' total shared out again by the ranking's
    weights, so the list's probabilities fall as it goes and sum to the model's for all of them."""
    model = {name: math.prod(chars) * end for name, (chars, end) in scored.items()}
    weight = {name: p * (1.0 + uses.get(name, 0.0)) ** prior for name, p in model.items() if p > 0}
    total_weight, total_model = sum(weight.values()), sum(model[name] for name in weight)
    if total_weight <= 0:
        return []
    ranked = sorted(weight, key=lambda name: (-weight[name], name))
    return [(name, total_model * weight[name] / total_weight) for name in ranked]


def merge_choices(units, ranked, k):
    """Inside a name, the choices: one per name, in the names' ranked order (ranked: [(name,
    probability)] from rank_names), each shown as the search's most probable unit for that name
    (the name with the mark after it, `get(`), else the bare name; the name "" (the word ends
    where the cursor is) only where the search found a unit for it."""
    shown = {}
    for text, _ in units:
        name = IDENT.match(text).group()
        shown.setdefault(name, text)
    out = []
    for name, prob in ranked:
        text = shown.get(name, name)
        if text.strip() and prob > 0:
            out.append((text, min(prob, 1.0)))
        if len(out) == k:
            break
    return out
