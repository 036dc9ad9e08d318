from model.text.clean import clean, extension_of, language_of


def test_strips_comments_docstrings_and_tabs():
    src = ('"""Module docstring."""\nimport os  # why\n\n\ndef f(x):\n\t"""Doc\n    more."""\n'
           '\t# a comment line\n\treturn x  # trailing\n\ns = """kept: an expression, not a docstring"""\n')
    out = clean(src).text
    assert out == 'import os\n\n\ndef f(x):\n    return x\n\ns = """kept: an expression, not a docstring"""\n'


def test_keeps_hash_inside_strings_and_normalises_newlines():
    assert clean('x = "#not a comment"\r\ny = 1\r\n').text == 'x = "#not a comment"\ny = 1\n'


def test_drops_big_literal_blocks_only():
    big = "TABLE = {\n" + "".join(f"    {i}: 'v{i}',\n" for i in range(150)) + "}\nprint(TABLE)\n"
    assert clean(big).text == "print(TABLE)\n"
    small = "T = [\n" + "".join(f"    {i},\n" for i in range(20)) + "]\n"
    assert clean(small).text == small
    code = "x = f(\n" + "".join(f"    g({i}),\n" for i in range(150)) + ")\n"
    assert clean(code).text == code  # long, but code rather than a literal


def test_collapses_blank_lines():
    assert clean("a = 1\n\n\n\n\nb = 2\n").text == "a = 1\n\n\nb = 2\n"


def test_partial_buffer_cursor_in_comment_or_docstring():
    assert clean("x = 1  # explain", partial=True).cursor_in_removed
    assert clean('def f():\n    """Docs being typed', partial=True).cursor_in_removed
    # Inside an ordinary string, open brackets or indentation: complete as usual.
    for text in ('s = """abc', 'x = foo(1,\n   2', 'if x:\n    ', 'x = "a # b'):
        c = clean(text, partial=True)
        assert not c.cursor_in_removed, text
        assert c.text == text  # trailing spaces at the cursor are kept


def test_window_cut_inside_a_docstring_reads_code_as_code():
    # What a request carries from a long file: its window starts in a docstring's prose.
    window = ('    the wrapped function is called with the context.\n\n    :param f: the function to wrap\n'
              '    """\n    def new_func(*args, **kwargs):  # wraps f\n        return f(get_current_context(), *args)\n\n'
              '    return update_wrapper(new_func, f)\n\n\ndef make_pass_decorator(object_type):\n'
              '    """Given an object type this creates a decorator.\n    """\n    def decorator(f):\n        return f(ob')
    c = clean(window, partial=True)
    assert not c.cursor_in_removed
    assert c.text.startswith("\n    def new_func(*args, **kwargs):\n")  # the prose before the quote, gone
    assert "# wraps f" not in c.text and "Given an object" not in c.text and c.text.endswith("return f(ob")
    # A docstring being typed at the cursor is still one, however much code comes before it.
    typed = "def f(x):\n    y = x + 1\n    return y\n\n\ndef g(items):\n    \"\"\"Sum the items and"
    assert clean(typed, partial=True).cursor_in_removed


def test_window_starting_indented_still_strips_what_follows_a_dedent():
    # The window opens at method level (8) and dedents to class level (4), a level it never
    # opened: tokenize alone gives up there, and the comments after it would reach the model.
    window = ("        return self.x\n\n    def size(self):  # how big\n        # count them\n"
              "        return len(self.items)\n\n    def cle")
    c = clean(window, partial=True)
    assert c.text == "        return self.x\n\n    def size(self):\n        return len(self.items)\n\n    def cle"



FILE = ('class Stream:\n    def open(self, path):\n        if path is None:\n            return self.default\n'
        '        self.handle = open(path)\n\n    # Default errors to replace\n    def read(self, n=-1):\n'
        '        """Read up to n characters."""\n        return self.handle.read(n)  # all of it\n\n\n'
        'def get_stream(\n    path: str,\n    mode: str = "r",\n) -> Stream:\n    raise ValueError(\n'
        '        "Appending is not supported, because that"\n        " would copy the file."\n    )\n'
        '    # never reached\n    return Stream()\n')


def test_window_cut_mid_line_cleans_as_the_whole_file_does():
    # A plug-in sends the last characters of a file: the window starts mid-line, so its first
    # line's indentation says nothing; from the first start it dedents to a level it never
    # opened (tokenize stops there), from the second it reads through at once.
    whole = clean(FILE).text
    for start in (FILE.index("rn self.default"), FILE.index("ndle = open")):
        c = clean(FILE[start:], partial=True)
        body = c.text[c.text.index("\n") + 1:]
        assert whole.endswith(body) and "#" not in c.text and "Read up to" not in c.text


def test_window_inside_a_bracket_keeps_call_arguments_and_strips_comments():
    # The window opens inside the def's parentheses: read as it is, `)` closes a bracket it
    # never opened, tokenize reads everything after as inside brackets, and the error
    # message's strings look like docstrings.
    c = clean(FILE[FILE.index('ode: str = "r"'):], partial=True)
    assert c.text.endswith('    raise ValueError(\n        "Appending is not supported, because that"\n'
                           '        " would copy the file."\n    )\n    return Stream()\n')

def test_other_languages_best_effort():
    src = 'int x; // note\n/* block\n comment */\nchar *s = "// not a comment";\n'
    assert clean(src, ".c").text == 'int x;\nchar *s = "// not a comment";\n'
    assert clean("local x = 1 -- note\n", ".lua").text == "local x = 1\n"


def test_one_table_names_languages_by_extension_and_back():
    for language in ("python", "javascript", "c", "shell"):
        assert language_of(extension_of(language)) == language
    assert language_of(".pyi") == "python" and extension_of("javascript") == ".js"
    assert language_of(".kt") == "kt" and extension_of("kt") == ".kt"  # unknown ones name themselves


def test_quick_clean_matches_clean_on_ordinary_code():
    from model.text.clean import clean, quick_clean

    code = ('"""Module doc."""\nimport os  # why\n\n\nclass A:\n    """Class doc\n    on lines."""\n\n'
            '    def f(self, x):\n        # a comment line\n        s = "# not a comment" + \'"\'  # tail\n'
            '        t = """kept: not a docstring"""\n\tif x:\r\n            return r"\\d+" + s\n')
    assert quick_clean(code) == clean(code).text
    assert quick_clean("x = 1  # c\n", options={"strip_comments": False}) == "x = 1  # c\n"
    assert quick_clean("# only a comment\n") == ""
