import pytest

from model.serving.defined import defined_in_scope

CLASS = """import os

def helper():
    pass

class Store:
    def items(self):
        def inner():
            pass
        return 1

    def iterkeys(self):
        return 2
    size = 3
    def it"""


@pytest.mark.parametrize("before, after, language, expected", [
    # a method: the class's methods on both sides of the cursor, not the nested function or the
    # top level's
    (CLASS, "ems(self):\n        pass\n\n    def values(self):\n        pass\ndef top():\n    pass\n", "python",
     {"items", "iterkeys", "values"}),
    # at the top level: every top-level definition, classes too
    ("def helper():\n    pass\n\nclass Store:\n    def items(self): pass\n\ndef he", "", "python", {"helper", "Store"}),
    ("async def fetch():\n    pass\nasync def fe", "", "python", {"fetch"}),
    # not a definition's name: nothing
    ("def helper():\n    pass\nx = he", "", "python", set()),
    ("def helper(self, na", "", "python", set()),
    # Lua: functions of a table, local ones
    ("local function foo() end\nfunction M.bar() end\nfunction M:b", "\nfunction M.baz() end", "lua", {"foo", "bar", "baz"}),
    ("export function load() {}\nclass Loader {}\nfunction lo", "", "javascript", {"load", "Loader"}),
    ("interface Shape {}\nexport type Size = number;\ninterface Sh", "", "typescript", {"Shape", "Size"}),
    ("#define MAX_LEN 10\n#define MA", "\n#define MIN_LEN 1\n", "c", {"MAX_LEN", "MIN_LEN"}),
    # a language with no definers here
    ("fn main() {}\nfn ma", "", "rust", set()),
])
def test_the_names_a_definitions_scope_defines(before, after, language, expected):
    assert defined_in_scope(before, after, language) == expected
