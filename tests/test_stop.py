from model.serving.stop import StopRules, _looping


def test_stop_rules():
    line = StopRules("x = foo(", "", "line", 80)
    assert line.check(list("a, b)\n")) == "line"
    assert line.finish(list("a, b)\n"), [0.9] * 6, "line")[0] == "a, b)"
    assert StopRules("x = foo(", ")", "line", 80).check(list("a, b)")) == "suffix"
    block = StopRules("def f(x):", "", "block", 200)
    assert block.check(list("\n    y = x\n    return y\n")) is None
    text = "\n    y = x\n    return y\n\ndef"
    assert block.check(list(text)) == "block"
    assert block.finish(list(text), [0.9] * len(text), "block")[0] == "\n    y = x\n    return y"
    inner = StopRules("    if x:\n        a = 1\n        b", "", "block", 200)
    assert inner.check(list(" = 2\n    c")) == "block"
    assert StopRules("x", "", "none", 5).check(list("abcde")) == "max_chars"
    assert StopRules("x", "", "none", 500).check(list("abc\ndef\n")) is None


def test_loop_guard():
    assert _looping("x = 1" + " " * 16)
    assert _looping("foo(foo(foo(foo(")
    assert _looping("a = 1\nb = 2\nb = 2\nb = 2\n")
    assert not _looping("self.assertEqual(a, b)")
    assert not _looping(")))")
