"""Ranked choices: when the policy is not sure enough to insert a completion, the few things the
model thinks most likely come next, each something a user would accept as a unit, with the
model's probability of the whole text.

A unit (unit_length, one step per case):
  - inside a name, the rest of the name, with the one punctuation mark that follows it when that
    is an opener or separator (`path.`, `get(`, `x,`);
  - at a token start, the next name (the same way), string literal (through its closing quote,
    and the mark after it) or run of up to three marks; after a keyword, one leading space
    belongs to the unit (`return` + Tab: ` None`);
  - never past the end of the line.
The search (ranked_choices) is best-first over characters: the most probable partial texts are
extended next (a few at once, in one network step), a text that completes a unit is set aside,
and the search stops once the k-th best unit is more probable than anything still open
(extensions only lose probability), or after a bounded number of texts. Probabilities are the product of the characters' (the same
mixed distribution the completion decodes with), so the list is ranked as the model ranks it.
"""
import heapq
import math

NAME_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
NAME_CHARS = NAME_START | set("0123456789")
AFTER_NAME = set(".([,:)]")  # the one mark a name takes with it
AFTER_STRING = set(".,:)]")
QUOTES = set("'\"")
MAX_MARKS = 3
MAX_UNIT = 40  # characters: longer is no unit a user reads at a glance
MAX_EXPANSIONS = 48  # bounded work: a few milliseconds warm
BATCH = 3  # texts a round: a step's cost grows with its rows, and a round past the stop wastes some


def unit_length(text, in_word):
    """The length of the unit `text` completes with its last character (the unit may exclude that
    character: a space or newline that ends a name), None while it is not complete yet, or 0
    when it can never be a unit (it starts at the end of the line)."""
    start = 1 if text[:1] == " " else 0  # a space first: the name typed is whole, a new token follows
    body = text[start:]
    if not body:
        return None
    first = body[0]
    if first == "\n" or (start and first == " "):
        return 0
    if (in_word and not start) or first in NAME_START:
        return _name_unit(body, start)
    if first in QUOTES:
        return _string_unit(body, start)
    return _marks_unit(body, start)


def _name_unit(body, start):
    for i, char in enumerate(body):
        if char not in NAME_CHARS:
            if char in AFTER_NAME:
                return start + i + 1
            return start + i if start + i > 0 else 0
    return None


def _string_unit(body, start):
    quote = body[0]
    close = body.find(quote, 1)
    if close < 0:
        return 0 if "\n" in body else None
    if len(body) == close + 1:
        return None  # what follows the string decides
    after = body[close + 1]
    return start + close + (2 if after in AFTER_STRING else 1)


def _marks_unit(body, start):
    for i, char in enumerate(body):
        if char in NAME_CHARS or char in " \n" or char in QUOTES:
            return start + i if i > 0 else 0
        if i + 1 == MAX_MARKS:
            return start + i + 1
    return None


def drop_retyped(unit, rest_of_line):
    """A unit that ends in the closing mark the editor already put after the cursor (an
    auto-closed bracket or quote) stops before it."""
    if rest_of_line and unit and unit[-1] == rest_of_line[0] and unit[-1] in ")]}'\"":
        return unit[:-1]
    return unit


def ranked_choices(distributions, char_of, k, in_word, rest_of_line="", extra=(), max_expansions=MAX_EXPANSIONS,
                   batch=BATCH):
    """Up to k distinct non-empty units, most probable first: [(text, probability)].

    distributions(texts) -> the next character's probabilities (over ids) after each text
    generated from the request's state (model.serving.walk.TextWalk); char_of(id) -> its
    character. extra: (text, probability) candidates found otherwise (the completion the policy
    cut), ranked with the rest.

    Each round expands up to `batch` of the most probable open texts at once, in one network
    step (its weights read once for all of them). The stop test is the one-at-a-time search's,
    so the list is the same unless max_expansions cuts the search short."""
    if k <= 0:
        return []
    found = {}
    for text, prob in extra:
        if text and prob > 0:
            found[text] = max(found.get(text, 0.0), prob)
    heap, counter, expansions = [(0.0, 0, "", ())], 1, 0  # (-log p, tie, text, its characters' probabilities)
    while heap and expansions < max_expansions:
        best = heapq.nlargest(k, found.values())
        bar = best[-1] if len(best) == k else 0.0
        nodes = []
        while heap and len(nodes) < min(batch, max_expansions - expansions) and math.exp(-heap[0][0]) >= bar:
            nodes.append(heapq.heappop(heap))
        if not nodes:
            break  # nothing open can beat the k-th unit found: extensions only lose probability
        expansions += len(nodes)
        for (neg_logp, _, text, probs), p_next in zip(nodes, distributions([node[2] for node in nodes])):
            for next_id in p_next.argsort()[::-1][:k + 2]:
                p = float(p_next[next_id])
                if p <= 0:
                    break
                child, child_probs = text + char_of(int(next_id)), probs + (p,)
                length = unit_length(child, in_word)
                if length == 0 or len(child) > MAX_UNIT:
                    continue
                if length is None:
                    heapq.heappush(heap, (neg_logp - math.log(p), counter, child, child_probs))
                    counter += 1
                    continue
                unit = drop_retyped(child[:length], rest_of_line)
                if unit.strip():
                    # Its characters' and the one that ended it: the chance the unit is this text
                    # and ends here (the likeliest ending, whichever order they were found in).
                    found[unit] = max(found.get(unit, 0.0), math.prod(child_probs))
    ranked = sorted(found.items(), key=lambda item: -item[1])
    return [(text, prob) for text, prob in ranked[:k]]
