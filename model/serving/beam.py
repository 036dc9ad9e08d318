"""Beam search over characters, for requests that ask for n > 1 alternatives at temperature 0."""
import numpy as np

from model.serving.hints import extend_word


def beam_search(distributions, step, vocab, state, rules, min_prob, n, hints, word="", width=None):
    """Beam search over characters: the `width` most probable partial completions go on; the n
    most probable finished ones, [(text, probs, stop reason)], best first. distributions(state,
    hints, word, generated ids) -> [the next character's probabilities]; step(id, state) -> the
    state after it."""
    width = width or max(2 * n, 4)
    beams = [([], [], 0.0, state, word)]  # chars, probs, log prob, state, identifier so far
    finished = []
    # Empty endings (the line ends right here) do not fill the beam: keep looking for n real ones.
    while beams and len({f[0] for f in finished if f[0]}) < n:
        candidates = []
        for chars, probs, logp, st, wd in beams:
            p, = distributions(st, hints, wd, [vocab.index[c] for c in chars])
            for next_id in np.argsort(p)[::-1][:width]:
                pr = float(p[next_id])
                if pr <= 0:
                    break
                if min_prob is not None and pr < min_prob:
                    finished.append(rules.finish(chars, probs, "min_prob") + (logp,))
                    break
                char = vocab.chars[next_id - 1]
                candidates.append((chars + [char], probs + [pr], logp + np.log(pr), st, int(next_id),
                                   extend_word(wd, char)))
        candidates.sort(key=lambda c: -c[2])
        beams = []
        for chars, probs, logp, st, next_id, wd in candidates[:width]:
            reason = rules.check(chars)
            if reason:
                finished.append(rules.finish(chars, probs, reason) + (logp,))
            else:
                beams.append((chars, probs, logp, step(next_id, st), wd))
    finished.sort(key=lambda f: -f[3])
    return [f[:3] for f in finished]
