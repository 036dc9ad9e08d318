"""The everyday buffers' table (model/unseen/everyday.json) and how model.measure.everyday
classifies and reports answers, with a stand-in Completer (no network, no model)."""
import json
from types import SimpleNamespace

import pytest

from model.measure import everyday

# The kinds of buffer issue 26 names, and the brief's main guard, dict .get( and super().__init__(.
KINDS = {"attribute", "call", "for", "return", "decorator", "import", "fstring", "comprehension", "except",
         "with", "assert", "init", "argparse", "logging", "main", "dict", "super"}


def test_the_table_of_buffers_has_its_shape():
    buffers = everyday.load_buffers()
    assert len(buffers) >= 40
    ids = [b["id"] for b in buffers]
    assert len(set(ids)) == len(ids)
    assert KINDS <= {b["kind"] for b in buffers}
    for b in buffers:
        assert set(b) == {"id", "kind", "text", "suffix", "want"}, b["id"]
        assert isinstance(b["text"], str) and b["text"].strip() and 1 <= b["text"].count("\n") + 1 <= 25, b["id"]
        assert isinstance(b["suffix"], str), b["id"]
        assert isinstance(b["want"], list) and b["want"] and all(isinstance(w, str) and w for w in b["want"]), b["id"]
        assert not any("\n" in w for w in b["want"]), b["id"]  # the server stops at the line's end
        assert not b["text"].endswith("\n"), b["id"]  # Tab after code, never in indentation


@pytest.mark.parametrize("completion, wants, expected", [
    ("__name__)", ["__name__)"], True),           # the whole of it
    ("__name__", ["__name__)"], True),            # the name, before its parenthesis
    ("__na", ["__name__)"], False),               # inside a name
    ("", ["__name__)"], False),                   # nothing is never right
    ("f:", ["f:"], True),
    ("f", ["f:"], True),
    ("g:", ["f:"], False),
    ('"w") as f:', ['"w") as f:'], True),
    ('"w")', ['"w") as f:'], True),
    ('"w"', ['"w") as f:'], True),               # a string literal is one token
    ('"', ['"w") as f:'], False),                 # its quote alone is not
    ('"w") ', ['"w") as f:'], False),             # a trailing blank is no token's end
    ("Exception as e:", ["Exception as e:", "Exception:"], True),
    ("Exception", ["Exception as e:", "Exception:"], True),
    ("Exception as exc:", ["Exception as e:", "Exception:"], False),
    ("ValueError:", ["Exception as e:", "Exception:"], False),
    ("items.append(", ["items.append(item)"], True),
    ("items.app", ["items.append(item)"], False),
    ("items.append(item))", ["items.append(item)"], False),   # longer than any wanted one
    ("n % 2", ["n % 2 == 0"], True),
    ("n % 2 =", ["n % 2 == 0"], True),            # one-character operators: each is a token
    ("name}", ['name}!")'], True),
    ("name}!", ['name}!")'], True),
    ("x", ["x"], True),
])
def test_right_is_a_wanted_completion_or_a_prefix_of_one_ending_at_a_token_end(completion, wants, expected):
    assert everyday.right(completion, wants) is expected


def test_classify_an_answer():
    wants = ["__name__)"]
    assert everyday.classify("__name__)", [], wants) == "inserted_right"
    assert everyday.classify("__main__)", [("__name__)", 0.9)], wants) == "inserted_wrong"  # choices never rescue an insertion
    assert everyday.classify("", [("name)", 0.5), ("__name__)", 0.3)], wants) == "right_in_choices"
    assert everyday.classify("", [("a", 0.5), ("b", 0.2), ("c", 0.1), ("__name__)", 0.05)], wants, top=3) == "choices_wrong"
    assert everyday.classify("", [("a", 0.5), ("b", 0.2), ("c", 0.1), ("__name__)", 0.05)], wants, top=4) == "right_in_choices"
    assert everyday.classify("", [("__n", 0.5)], wants) == "choices_wrong"
    assert everyday.classify("", [], wants) == "nothing"


class FakeCompleter:
    """Answers each buffer from a fixed table keyed by the buffer's text, as the Completer's
    contract has it: complete(text, suffix=, max_chars=, stop=, choices=k) -> .text, .choices."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def complete(self, text, suffix="", max_chars=80, stop="line", choices=0, **_):
        self.calls.append({"text": text, "suffix": suffix, "max_chars": max_chars, "stop": stop, "choices": choices})
        completion, offered = self.answers[text]
        return SimpleNamespace(text=completion, choices=offered[:choices])


BUFFERS = [
    {"id": "a", "kind": "logging", "text": "import logging\nlogger = logging.getLogger(", "suffix": "", "want": ["__name__)"]},
    {"id": "b", "kind": "for", "text": "with open(p) as f:\n    for line in ", "suffix": "\n", "want": ["f:"]},
    {"id": "c", "kind": "except", "text": "try:\n    x()\nexcept ", "suffix": "", "want": ["Exception as e:", "Exception:"]},
    {"id": "d", "kind": "except", "text": "try:\n    int(s)\nexcept ", "suffix": "", "want": ["ValueError:"]},
    {"id": "e", "kind": "attribute", "text": "self.", "suffix": "", "want": ["items"]},
]
ANSWERS = {
    BUFFERS[0]["text"]: ("__name__)", []),                                      # inserted and right
    BUFFERS[1]["text"]: ("line", []),                                           # inserted and wrong
    BUFFERS[2]["text"]: ("", [("Exception:", 0.4), ("BaseException:", 0.1)]),  # right among the choices
    BUFFERS[3]["text"]: ("", [("KeyError:", 0.3), ("TypeError:", 0.2), ("OSError:", 0.1), ("ValueError:", 0.05)]),
    BUFFERS[4]["text"]: ("", []),                                               # nothing offered
}


def test_measure_classifies_each_buffer_as_the_server_would_ask(tmp_path):
    fake = FakeCompleter(ANSWERS)
    r = everyday.measure(fake, BUFFERS, choices=3)
    assert [b["class"] for b in r["per_buffer"]] == ["inserted_right", "inserted_wrong", "right_in_choices",
                                                     "choices_wrong", "nothing"]
    assert r["counts"] == {c: 1 for c in everyday.CLASSES} and r["buffers"] == 5
    assert sum(r["shares"].values()) == pytest.approx(1.0)
    assert r["per_kind"]["except"] == {"n": 2, "counts": {"inserted_right": 0, "inserted_wrong": 0,
                                                          "right_in_choices": 1, "choices_wrong": 1, "nothing": 0}}
    assert all(c["max_chars"] == 80 and c["stop"] == "line" and c["choices"] == 3 for c in fake.calls)
    assert fake.calls[1]["suffix"] == "\n"
    assert r["per_buffer"][2]["choices"] == [("Exception:", 0.4), ("BaseException:", 0.1)]
    # choices=0 asks for none (the server's default), so the same answers fall into other classes
    r0 = everyday.measure(FakeCompleter(ANSWERS), BUFFERS, choices=0)
    assert r0["counts"]["nothing"] == 3 and r0["counts"]["right_in_choices"] == 0


def test_the_table_shows_models_side_by_side_and_the_wrong_insertions():
    first = {"name": "one", **everyday.measure(FakeCompleter(ANSWERS), BUFFERS)}
    second = {"name": "two", **everyday.measure(FakeCompleter({**ANSWERS, BUFFERS[1]["text"]: ("f:", [])}), BUFFERS)}
    text = everyday.table([first, second])
    assert "| | one | two |" in text
    assert "| inserted and right | 1 (0.20) | 2 (0.40) |" in text
    assert "| nothing offered | 1 (0.20) | 1 (0.20) |" in text
    assert "| except | 2 | 0/0/1/1/0 | 0/0/1/1/0 |" in text
    assert "- b: 'line' (wanted 'f:')" in text


def test_main_prints_json(tmp_path, monkeypatch, capsys):
    path = tmp_path / "buffers.json"
    path.write_text(json.dumps(BUFFERS))
    monkeypatch.setattr("model.serving.completer.Completer.load", classmethod(lambda cls, d: FakeCompleter(ANSWERS)))
    everyday.main(["--model", "some/dir", "--buffers", str(path), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["choices"] == 3 and out["results"][0]["name"] == "dir"
    assert out["results"][0]["counts"]["inserted_right"] == 1
