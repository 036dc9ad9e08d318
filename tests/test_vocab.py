from model.text.vocab import UNKNOWN_CHAR, UNKNOWN_ID, Vocab


def test_round_trip_and_unknown_characters(tmp_path):
    v = Vocab.from_text("def f(x):\n    return x\n" * 30, min_count=1)
    text = "def f(x):\n    return x\n"
    assert v.decode(v.encode(text)) == text
    ids = v.encode("x€😀\x00\ud800")
    assert list(ids[1:]) == [UNKNOWN_ID] * 4
    assert v.decode(ids) == "x" + UNKNOWN_CHAR * 4
    v.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").chars == v.chars


def test_rare_characters_become_unknown():
    v = Vocab.from_text("a" * 50 + "b" * 5, min_count=10)
    assert list(v.encode("ab")) == [v.index["a"], UNKNOWN_ID]
    assert len(v) == 2


def test_corrupt_vocab_file_is_named(tmp_path):
    p = tmp_path / "vocab.json"
    p.write_text('{"chars": ["ab"]}')
    try:
        Vocab.load(p)
    except ValueError as err:
        assert "single character" in str(err)
    else:
        raise AssertionError("corrupt vocab accepted")
