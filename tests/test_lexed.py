"""Exact cleaning of C, JavaScript, TypeScript and Lua (model.text.lexed through clean()): hand-made
files whose comments go and whose literals stay, windows cut from them anywhere (inside a block
comment, a long bracket, mid-string) cleaned as the whole file was, and the cursor rule."""
import pytest

from model.text import lexed
from model.text.clean import clean, extension_of, language_of


def cleaned(text, ext):
    return clean(text, ext).text


def test_c_comments_go_and_string_and_char_literals_stay():
    src = ('/* file\n * comment */\nint x; // note\nchar *s = "// not /* nor */ a comment";\n'
           "char c = '/', d = '*', q = '\\'';  /* chars */\nint a; // continued \\\n   on this line\n"
           'x = a //* C99: a line comment */ b;\n  /* leads */ int y;\n')
    assert cleaned(src, ".c") == ('int x;\nchar *s = "// not /* nor */ a comment";\n'
                                  "char c = '/', d = '*', q = '\\'';\nint a;\nx = a\n  int y;\n")


def test_c_preprocessor_lines_stay_with_their_continuations():
    src = ("#include <sys/types.h>  // types\n#include <a//b.h>\n#define TWICE(x) \\\n\t((x) * 2) /* doubled */\n"
           '#define N 4 // why "four"\n#define S "//x" // s\n#if N > 2 /* big */\nint big;\n#endif // N\n')
    assert cleaned(src, ".h") == ("#include <sys/types.h>\n#include <a//b.h>\n#define TWICE(x) \\\n    ((x) * 2)\n"
                                  '#define N 4\n#define S "//x"\n#if N > 2\nint big;\n#endif\n')


def test_javascript_template_literals_and_regex_literals_stay():
    src = ("const t = `a ${ `b ${c /* in */}` } // not`; // yes\nconst u = `http://x/*`;\n"
           "const r = /\\/\\*x/g; // c\nconst q = /[/]\\/\\//, s = a / b / c; // d\nif (x) /re\\/\\//.test(y);\n"
           "/**\n * JSDoc.\n * @param {string} x\n */\nfunction f(x) { return \"/* no */\" + '// no'; }\n")
    assert cleaned(src, ".js") == ("const t = `a ${ `b ${c }` } // not`;\nconst u = `http://x/*`;\n"
                                   "const r = /\\/\\*x/g;\nconst q = /[/]\\/\\//, s = a / b / c;\nif (x) /re\\/\\//.test(y);\n"
                                   "function f(x) { return \"/* no */\" + '// no'; }\n")
    assert cleaned(src, ".mjs") == cleaned(src, ".cjs") == cleaned(src, ".js")
    assert language_of(".mjs") == language_of(".cjs") == "javascript" and extension_of("javascript") == ".js"


def test_typescript_types_and_generics_are_code():
    src = ("let x: Array<number> = [1]; // c\n/** doc */ function f<T>(a: T): T { return a; }\n"
           "type P = `/${string}`; // a path\nconst u = `http://${host}/*`; /* u */\n")
    assert cleaned(src, ".ts") == ("let x: Array<number> = [1];\nfunction f<T>(a: T): T { return a; }\n"
                                   "type P = `/${string}`;\nconst u = `http://${host}/*`;\n")


def test_lua_long_brackets_of_each_level():
    src = ("--[[ level 0 ]] local a = 1\n--[=[ level 1 with ]] inside ]=]\n--[==[ level 2\nwith ]=] inside\n]==]\n"
           "local s0, s1 = [[ -- kept ]], [=[ a ]] b -- kept ]=]\nlocal s2 = [==[\n]=] -- kept\n]==] -- gone\n"
           "print(\"-- not\", '--[[ not ]]') -- yes\nlocal t = a[b[1]] -- index\n--[[\nprint(\"commented out\")\n--]]\n")
    assert cleaned(src, ".lua") == ("local a = 1\nlocal s0, s1 = [[ -- kept ]], [=[ a ]] b -- kept ]=]\n"
                                    "local s2 = [==[\n]=] -- kept\n]==]\nprint(\"-- not\", '--[[ not ]]')\n"
                                    "local t = a[b[1]]\n")


def test_offsets_are_characters_not_bytes():
    assert cleaned('x = "café"; // été\ny = 2; /* ü */\n', ".c") == 'x = "café";\ny = 2;\n'
    assert cleaned("local s = 'ü' -- ü\n", ".lua") == "local s = 'ü'\n"


def test_comments_stay_when_the_options_say_so():
    assert clean("int x; // c\n", ".c", {"strip_comments": False}).text == "int x; // c\n"


# -- windows cut anywhere: cleaned as the whole file was -------------------------------------------

def window_body(text, ext, start):
    """What a buffer cut at `start` cleans to, less its first (cut) line."""
    seen = clean(text[start:], ext, partial=True).text
    return seen[seen.find("\n") + 1:]


def assert_every_cut_cleans_like_the_whole(text, ext):
    whole = clean(text, ext, partial=True).text
    for start in range(1, len(text) - 1):
        assert whole.endswith(window_body(text, ext, start)), (start, text[start:start + 40])


C_FILE = ('int add(int a, int b) {\n    return a + b; // the sum\n}\n\n/*\n * Don\'t call it "often": it\'s slow,\n'
          ' * see `make` and http://x.org/a//b,\n */\nint slow(void) {\n    char *s = "*/ /*";\n'
          '    return add(1, 2); /* three */\n}\n#define X(a) \\\n    (a) // x\n')
JS_FILE = ("function add(a, b) {\n  return a + b; // the sum\n}\n\n/**\n * Don't call it \"often\": it's slow,\n"
           " * see `make` and http://x.org/a//b,\n * ```js\n * slow(`x`)\n * ```\n */\nexport function slow(x) {\n"
           "  const s = `${x} // not`, r = /\\/\\*/;\n  return add(1, 2); /* three */\n}\n")
LUA_FILE = ("local function add(a, b)\n  return a + b -- the sum\nend\n\n--[[\nDon't call it \"often\": it's slow,\n"
            "see [x] -- and t[k]\n]]\nlocal usage = [==[\nslow(x) -- the call\n]==]\nlocal names = {\n  'a', 'b', -- two\n"
            "  \"c's\", -- one\n}\n--[=[ level 1 ]] ]=]\nreturn add(1, 2) -- three\n")


@pytest.mark.parametrize("ext, text", [(".c", C_FILE), (".js", JS_FILE), (".ts", JS_FILE), (".lua", LUA_FILE)])
def test_a_buffer_cut_anywhere_cleans_like_the_whole_file(ext, text):
    # Cut inside the block comment (whose prose has quotes, backticks and `//`), mid-string, mid-line.
    assert_every_cut_cleans_like_the_whole(text, ext)


def test_a_lua_window_cut_inside_a_long_string_keeps_it():
    text = 'local help = [[\nusage: run -- the file\n]], -- gone\nlocal x = 1 -- gone\n'
    assert window_body(text, ".lua", text.index("sage")) == "]],\nlocal x = 1\n"
    text = "--[[ a comment\nthat ends on its own line\n--]]\nlocal x = 1 -- gone\n"
    assert clean(text[text.index("hat"):], ".lua", partial=True).text == "local x = 1\n"


def test_a_lua_window_starting_inside_a_table_of_strings():
    # An odd quote at the cut, and a window that opens inside a table constructor: Lua's scanner,
    # recovering, would read the code as strings and the comments inside them as text.
    table = "local ops = {\n" + "".join(f"  'op{i}', 'op{i}b', -- group {i}\n" for i in range(60)) + "}\n"
    assert_every_cut_cleans_like_the_whole(table, ".lua")
    window = clean(table[table.index("p7b"):], ".lua", partial=True).text
    assert "--" not in window[window.index("\n"):]  # (the first line, cut mid-string, is read alone)


# -- the cursor rule -------------------------------------------------------------------------------

@pytest.mark.parametrize("ext, text", [
    (".c", "int x = 1; // why"), (".c", "int x = 1;\n/* a block\n * being typed"), (".c", "x = 1; /*"),
    (".js", "let x = 1; // why"), (".js", "let x = 1;\n/**\n * JSDoc being typed @param"),
    (".ts", "let x: number = 1; /* why"), (".lua", "local x = 1 -- why"), (".lua", "x = 1\n--[==[ long\ncomment"),
    (".lua", "--[[\nthe first line opened it"), (".c", "/*\n * the first line opened it"),
])
def test_the_cursor_inside_a_comment_gets_no_completion(ext, text):
    c = clean(text, ext, partial=True)
    assert c.cursor_in_removed and "why" not in c.text and "typed" not in c.text


@pytest.mark.parametrize("ext, text", [
    (".c", 'char *s = "a // b'), (".c", "x = 1; /* done */"), (".c", "x = 1; // done\n"),
    (".js", "const u = `http://x ${y} // z"), (".js", "let a;\nconst u = `a\n// not a comment\n/* nor this"),
    (".js", 'const s = "a /* b'), (".ts", "const r = a.replace(/\\/\\//"), (".lua", 'local s = "a -- b'),
    (".lua", "local s = [==[ a -- b\n-- c"), (".lua", "local t = a[b[1]] --[[ x ]]"),
])
def test_the_cursor_inside_a_string_or_after_a_comment_is_completed(ext, text):
    c = clean(text, ext, partial=True)
    assert not c.cursor_in_removed
    if "--[[" not in text and "done" not in text:
        assert c.text == text  # what follows an open string's quote is its text, not a comment


def test_each_language_reads_its_own_grammar():
    assert set(lexed.EXTENSIONS.values()) == set(lexed.GRAMMARS) == {"c", "javascript", "typescript", "lua"}
    assert all(language_of(ext) == name for ext, name in lexed.EXTENSIONS.items())
