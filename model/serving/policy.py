"""How far a completion goes: the completion policy, and the per-character gate it replaced.

The decoder proposes the most likely line (greedy, stop=line); the policy cuts it:
  - inside an identifier (the user has typed part of a name), finish the name, unless the
    model has no idea what it is (the name's probability, the product of its characters', is
    below `ident_floor`): then say nothing. Where the Completer ranks names (greedy, no
    min_prob) those characters carry the ranking's probability of the name (since 2026-12-03,
    model.serving.names.with_name_prob);
  - beyond the name, extend only while each character is at least `extend_floor` likely;
    from a token start, while each is at least `char_floor` likely; and in both, while the
    whole extension (the product of its characters) is at least `line_floor`.
The floors are fitted on the dev set of unseen packages (python -m model.measure.benchmark --set dev
--fit-policy) for the most keystrokes saved at a stated line precision (savings within 1% of the
most are a tie, which the more precise floors win), and stored in the model dir's meta.json
("policy"); a model dir without one uses the defaults below. Measured there:
beyond the name, a floor per character buys more savings at a given precision than one on the
product (long copies by the match model are right though their product is small).
Requests that bring the project's other files (`files`) have floors of their own
("policy_files"), fitted the same way on requests that carry them: the files' evidence makes
other proposals right, and other floors keep the answers right (a model dir without them uses
"policy" for these too).

The per-character gate (`min_prob`, kept for requests that ask for it) cuts at the first
character below the threshold: one unsure character anywhere in a name throws the name away.
"""
import math
import re
from dataclasses import dataclass

IDENT_CHARS = re.compile(r"[A-Za-z0-9_]*")
FLOORS = ("ident_floor", "char_floor", "line_floor", "extend_floor")
PRECISION_TARGET = 0.75  # the share of answers that must be right, where the floors are fitted
SAVINGS_TIE = 0.01  # savings within 1% of the most: a tie dev's positions cannot break
# (docs/experiments/2026-11-22-tie-rule.md)


@dataclass(frozen=True)
class Policy:
    ident_floor: float = 0.02
    char_floor: float = 0.7
    line_floor: float = 0.0
    extend_floor: float = 0.9

    @classmethod
    def from_meta(cls, meta, key="policy", default=None):
        """The policy stored in meta.json under `key`, else `default` (None: the defaults above);
        raises ValueError for a broken one."""
        stored = meta.get(key)
        if stored is None:
            return cls() if default is None else default
        try:
            policy = cls(*(float(stored[name]) for name in FLOORS))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"meta.json '{key}' is unusable ({err!r})") from None
        if not all(0 <= f <= 1.01 for f in (policy.ident_floor, policy.char_floor, policy.line_floor,
                                             policy.extend_floor)):
            raise ValueError(f"meta.json '{key}': floors must be between 0 and 1.01 (1.01: never)")
        return policy

    def as_meta(self):
        return {name: getattr(self, name) for name in FLOORS}

    def cut(self, text, probs, in_word):
        """How many characters of the proposed completion to keep.

        in_word: the cursor is inside an identifier (the characters before it are a name's start).
        """
        end, char_floor = 0, self.char_floor
        if in_word:
            end, char_floor = len(IDENT_CHARS.match(text).group()), self.extend_floor
            if end and math.prod(probs[:end]) < self.ident_floor:
                return 0
        logp, floor = 0.0, math.log(self.line_floor) if self.line_floor > 0 else -math.inf
        keep = end
        for i in range(end, len(text)):
            logp += math.log(max(probs[i], 1e-300))
            if probs[i] < char_floor or logp < floor:
                break
            keep = i + 1
        return keep

    def stop_early(self, text, probs, in_word):
        """True once the last character proposed will not be kept: neither will any after it
        (a character below its floor ends what is kept for good, and products only fall), so
        the decoder may stop here."""
        return bool(probs) and self.cut(text, probs, in_word) < len(text)


OBJECTIVES = ("keystroke_savings", "savings_with_picks")


def fit_policy(policy_rows, target=PRECISION_TARGET, overall=None, tie=SAVINGS_TIE, objective="keystroke_savings"):
    """The floors that save the most keystrokes with line precision >= target and precision over
    all answers >= overall (default: target). Savings within `tie` (a share) of the most are a
    tie, broken by the higher line precision (a wrong answer costs the user a deletion), then
    by more savings, more identifiers right, lower floors. objective: the savings counted, what
    Tab inserts ("keystroke_savings") or that with the menu's picks where nothing is inserted
    ("savings_with_picks", model.measure.tabs.saved_chars: what a user of the plug-ins saves)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    if any(objective not in r for r in policy_rows):
        raise ValueError(f"the sweep's rows have no {objective!r} (a sweep without the positions' choices)")
    overall = target if overall is None else overall
    ok = [r for r in policy_rows if r["line_precision"] is not None and r["line_precision"] >= target
          and r["precision"] is not None and r["precision"] >= overall]
    if not ok:
        reached = [(r["line_precision"], r["precision"]) for r in policy_rows
                   if r["line_precision"] is not None and r["precision"] is not None]
        best = max(reached, key=min, default=(None, None))
        raise ValueError(f"no policy in the sweep reaches line precision {target} with precision {overall} over all "
                         f"answers (the best both reach: {best[0]} and {best[1]})")
    most = max(r[objective] for r in ok)
    near = [r for r in ok if r[objective] >= most * (1 - tie)]
    best = max(near, key=lambda r: (round(r["line_precision"], 4), round(r[objective], 4),
                                    r["ident_exact"] or 0, -r["char_floor"], -r["line_floor"], -r["ident_floor"],
                                    -r["extend_floor"]))
    return Policy(*(best[name] for name in FLOORS)), best


def gate_cut(probs, min_prob):
    """How many characters the per-character gate keeps: up to the first one below min_prob."""
    for i, p in enumerate(probs):
        if p < min_prob:
            return i
    return len(probs)


@dataclass(frozen=True)
class Gate:
    """The per-character gate as a cut like Policy's, so the benchmark sweeps both alike."""
    min_prob: float

    def cut(self, text, probs, in_word):
        return gate_cut(probs, self.min_prob)


def tidy(text):
    """A cut completion never ends on dangling whitespace or half an indentation."""
    text = text.rstrip(" ") if "\n" not in text else text.rstrip()
    return text if text.strip() else ""


def answer(cut, text, probs, in_word):
    """What is answered of a finished proposal under `cut` (Policy.cut or Gate.cut): the
    proposal as it is when the cut keeps all of it, else the part kept, tidied. The one place
    a cut is applied: the Completer, the benchmark's sweeps and learn's refit all call it."""
    keep = cut(text, probs, in_word)
    return text if keep == len(text) else tidy(text[:keep])


def cut_result(result, policy, in_word):
    """A finished completion (text, probs, stop reason) as far as the policy keeps it."""
    text, probs, reason = result
    kept = answer(policy.cut, text, probs, in_word)
    return result if kept == text else (kept, probs[:len(kept)], "policy")
