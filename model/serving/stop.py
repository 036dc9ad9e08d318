"""Where a completion ends: the stop mode (end of line, end of block), max_chars, the text after
the cursor, and the guard against the failure the paper saw (looping on spaces or repeating itself).
"""

STOP_MODES = ("line", "block", "none")


class StopRules:
    """Where a completion ends: the stop mode, max_chars, the suffix, and the loop guard."""

    def __init__(self, context, suffix, stop, max_chars):
        self.stop, self.max_chars = stop, max_chars
        line = context[context.rfind("\n") + 1:]
        self.indent = len(line) - len(line.lstrip(" "))
        self.line_so_far = line
        # Text after the cursor on the same line (an editor's auto-closed bracket, say): the
        # completion stops where it would type it again.
        self.rest_of_line = (suffix or "").split("\n", 1)[0].strip()

    def check(self, chars):
        """A reason to stop after the last character, or None."""
        text = "".join(chars)
        if self.stop == "line" and text.endswith("\n"):
            return "line"
        if self.stop == "block" and self._block_ended(text):
            return "block"
        if self.rest_of_line and text.endswith(self.rest_of_line) and "\n" not in text:
            return "suffix"
        if _looping(text):
            return "repeat"
        if len(chars) >= self.max_chars:
            return "max_chars"
        return None

    def _block_ended(self, text):
        lines = text.split("\n")
        if len(lines) < 2:
            return False
        last = lines[-1]
        if not last.strip():
            return len(lines) > 3 and all(not l.strip() for l in lines[-3:])  # two blank lines
        first = self.line_so_far + lines[0]
        opens_suite = first.rstrip().endswith(":")
        indent = len(last) - len(last.lstrip(" "))
        return indent < self.indent or (opens_suite and indent <= self.indent) or (
            not opens_suite and indent <= self.indent and len(lines) > 1 and self.indent == 0)

    def finish(self, chars, probs, reason):
        """Trim what the stop rule saw beyond the completion itself."""
        text = "".join(chars)
        if reason == "line":
            text = text[:-1]
        elif reason == "block":
            text = text[:text.rfind("\n")]
        elif reason == "suffix":
            text = text[: len(text) - len(self.rest_of_line)]
        elif reason == "repeat":
            text = _trim_repeat(text)
        if self.stop == "block" or reason in ("max_chars", "min_prob"):
            # A completion never ends on dangling whitespace or half an indentation.
            text = text.rstrip(" ") if "\n" not in text else text.rstrip()
        if not text.strip():
            text = ""
        return text, probs[:len(text)], reason


def _repeated_tail(text, min_span=12):
    """(unit length, repetitions) when the text ends in one unit repeated 3+ times over
    min_span+ characters ('foo(foo(foo(', ')))))))))))))'), else None."""
    n = len(text)
    for unit in range(1, min(40, n // 3) + 1):
        reps = 1
        while (reps + 1) * unit <= n and text[n - (reps + 1) * unit:n - reps * unit] == text[n - unit:]:
            reps += 1
        if reps >= 3 and reps * unit >= min_span:
            return unit, reps
    return None


def _same_line_thrice(text):
    lines = text.split("\n")
    return len(lines) >= 4 and lines[-2].strip() != "" and lines[-2] == lines[-3] == lines[-4]


def _looping(text):
    """True when the completion is going round in circles (the failure the paper saw)."""
    if text.endswith(" " * 16) and not text.rstrip(" ").endswith("\n"):
        return True  # a run of spaces mid-line
    return _repeated_tail(text) is not None or _same_line_thrice(text)


def _trim_repeat(text):
    """Keep the first occurrence of the repeated unit, drop the echoes."""
    tail = _repeated_tail(text)
    if tail:
        unit, reps = tail
        return text[: len(text) - (reps - 1) * unit]
    if _same_line_thrice(text):
        return "\n".join(text.split("\n")[:-3])
    return text
