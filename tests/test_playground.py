"""The playground page in a real headless Chromium (Debian's chromium + chromium-driver, selenium)."""
import json
import logging
import os
import re
import shutil
import tempfile

import pytest
import requests

from tests.plugin_server import LIMITS, TAB_CASES, tab_cases
from tests.server_helpers import LiveServer, make_models_dir

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PRIME = "def add(a, b):\n    return a"

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    models = make_models_dir(tiny_model, str(tmp_path_factory.mktemp("pmodels")))
    live = LiveServer({"MODELS_DIR": models, "MIN_PROB": 0.0})
    yield live
    live.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tabcomplete-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1100,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    code = browser.find_element(By.ID, "code")
    status = browser.find_element(By.ID, "status")
    models = browser.find_element(By.ID, "models")
    WebDriverWait(browser, 20).until(lambda d: models.text.startswith("models:"))  # /health answered
    assert status.text == "tabcomplete"
    code.clear()
    return code, status


def settled(status):
    """The status once the request has ended: a latency, or "tabcomplete: <why>"."""
    return re.fullmatch(r"tabcomplete \d+ ms", status.text) or status.text.startswith("tabcomplete:")


def set_field(browser, field_id, value):
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)
    assert element.get_attribute("value") == value


def completions_asked(server):
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith('tabcomplete_requests_total{endpoint="complete"'))


def type_text(code, text):
    from selenium.webdriver.common.keys import Keys

    for i, line in enumerate(text.split("\n")):
        if i:
            code.send_keys(Keys.ENTER)
        code.send_keys(line)


def test_tab_after_code_inserts_the_completion(server, browser, tmp_path_factory):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # The tiny model's greedy answer is blank (it has barely trained), so sample, with a seed, to
    # get text; the answer is then known: what the server says for the same request.
    expected = requests.post(server.url + "/complete", json={"text": PRIME, "suffix": "", "language": "python",
                                                               "max_chars": 80, "stop": "line", "temperature": 0.8,
                                                               "seed": 3}, timeout=30).json()
    assert expected["completion"], "the tiny model should complete this prime (MIN_PROB is 0)"
    code, status = open_page(browser, server)
    set_field(browser, "temperature", "0.8")
    set_field(browser, "seed", "3")
    type_text(code, PRIME)
    assert code.get_attribute("value") == PRIME
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: settled(status))
    assert re.fullmatch(r"tabcomplete \d+ ms", status.text), status.text
    value = code.get_attribute("value")
    inserted = value[len(PRIME):]
    print(f"inserted completion: {inserted!r}; status: {status.text!r}")
    assert value == PRIME + expected["completion"]
    # The cursor sits after the inserted text, and Ctrl+Z takes the insertion back as one step.
    assert browser.execute_script("return arguments[0].selectionStart", code) == len(value)
    shot = os.path.join(str(tmp_path_factory.mktemp("screens")), "playground.png")
    assert browser.save_screenshot(shot)
    print(f"screenshot: {shot}")
    code.send_keys(Keys.CONTROL, "z")
    assert code.get_attribute("value") == PRIME


def test_tab_in_indentation_indents(server, browser):
    from selenium.webdriver.common.keys import Keys

    code, status = open_page(browser, server)
    before = completions_asked(server)
    type_text(code, "if x:\n")
    code.send_keys(Keys.TAB)
    assert code.get_attribute("value") == "if x:\n    "
    code.send_keys("  ")
    code.send_keys(Keys.TAB)  # from column 6 to the next stop, 8
    assert code.get_attribute("value") == "if x:\n        "
    assert status.text == "tabcomplete"
    assert completions_asked(server) == before  # indenting asks the server nothing


def test_error_answer_is_shown_and_the_text_is_left_as_it_was(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    code, status = open_page(browser, server)
    # A language no model serves: the server answers 404, the page says so and indents instead.
    browser.execute_script("const s = document.getElementById('language');"
                           "s.appendChild(new Option('cobol', 'cobol', true, true));")
    assert browser.find_element(By.ID, "language").get_attribute("value") == "cobol"
    error = requests.post(server.url + "/complete", json={"text": "x = 1", "language": "cobol"}, timeout=30)
    assert error.status_code == 404 and error.json()["error"]["code"] == "unknown_language"
    type_text(code, "x = 1")
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: settled(status))
    assert status.text == f"tabcomplete: server error 404: {error.json()['error']['message']}"
    assert code.get_attribute("value") == "x = 1"  # nothing to offer: no whitespace typed after code
    # "normal Tab when nothing to offer" (the fallbackTab setting): the normal Tab, as before.
    fallback = browser.find_element(By.ID, "fallback-tab")
    fallback.click()
    assert fallback.is_selected()
    code.click()
    code.send_keys(Keys.END)
    set_status_idle(browser)
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: settled(status))
    assert status.text == f"tabcomplete: server error 404: {error.json()['error']['message']}"
    assert code.get_attribute("value") == "x = 1   "  # the normal Tab: to column 8
    fallback.click()


# The shared table of Tab cases, run through the plug-ins' client as the page loads it (/client.js).
RUN_CASE = {
    "tab": "return window.tabcomplete.decideTab(arguments[0])",
    "answer": "const d = window.tabcomplete.decideAnswer(arguments[0]);"
              "return {action: d.action, reason: d.reason, status: window.tabcomplete.statusText(d.status)}",
    "status": "return window.tabcomplete.statusText(arguments[0])",
    "body": "return window.tabcomplete.buildBody(arguments[0], arguments[1])",
    "files": "const a = arguments[0]; return window.tabcomplete.selectFiles(a.current, a.candidates, a.budget)",
    "menu": "return window.tabcomplete.menuItems(arguments[0].choices)",
    "flow": None,  # a whole Tab on the page, its fetch answering as the case says: test_flow_case
}


@pytest.fixture(scope="module")
def page(server, browser):
    open_page(browser, server)
    return browser


def test_the_table_has_the_groups_run_here():
    assert sorted(k for k in TAB_CASES if k != "about") == sorted(RUN_CASE)


@pytest.mark.parametrize("group, case_input, settings, expect", tab_cases(*(g for g in RUN_CASE if g != "flow")))
def test_tab_case(page, group, case_input, settings, expect):
    args = [case_input, settings] if group == "body" else [case_input]
    assert page.execute_script(RUN_CASE[group], *args) == expect


def test_the_pages_caps_are_limits_json(page):
    assert page.execute_script("return window.tabcomplete.LIMITS") == LIMITS


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(json.loads(record.getMessage()))


def test_another_file_is_sent_as_files(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    other = "def list_python_files(root):\n    return [n for n in os.listdir(root)]\n"
    code, status = open_page(browser, server)
    other_area = browser.find_element(By.ID, "other-file")
    other_area.clear()
    type_text(other_area, other)
    access = Records()
    logging.getLogger("tabcomplete.access").addHandler(access)
    try:
        type_text(code, "import os\nlist_py")
        code.send_keys(Keys.TAB)
        WebDriverWait(browser, 20).until(lambda d: settled(status))
    finally:
        logging.getLogger("tabcomplete.access").removeHandler(access)
    completes = [r for r in access.records if r.get("path") == "/complete"]
    assert [(r["status"], r["files"], r["files_chars"]) for r in completes] == [(200, 1, len(other))]
    assert not status.text.startswith("tabcomplete: server error"), status.text


def set_status_idle(browser):
    browser.execute_script("document.getElementById('status').textContent = 'tabcomplete'")


def shown_choices(browser):
    """The list of choices under the cursor, as [label, detail] pairs, or None when it is hidden."""
    return browser.execute_script(
        "const l = document.getElementById('choices'); if (l.hidden) return null;"
        "return [...l.children].map((li) => [li.querySelector('.t').textContent, li.querySelector('.p').textContent])")


def test_choices_are_listed_under_the_cursor_and_a_pick_is_one_undo_step(server, browser, tmp_path_factory):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # min_prob 1: no character passes the gate, the completion is empty, the choices are still ranked.
    answer = requests.post(server.url + "/complete", json={"text": PRIME, "suffix": "", "language": "python", "max_chars": 80,
                                                           "stop": "line", "min_prob": 1, "choices": 3}, timeout=30).json()
    assert answer["completion"] == "" and len(answer["choices"]) >= 2, answer
    code, status = open_page(browser, server)
    set_field(browser, "min-prob", "1")
    type_text(code, PRIME)
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: settled(status))
    assert re.fullmatch(rf"tabcomplete: {len(answer['choices'])} choices \(\d+ ms\)", status.text), status.text
    percent = [f"{int(c['probability'] * 100 + 0.5)}%" if c["probability"] >= 0.005 else "<1%" for c in answer["choices"]]
    assert shown_choices(browser) == [[c["text"], p] for c, p in zip(answer["choices"], percent)]
    assert code.get_attribute("value") == PRIME  # listed, nothing inserted yet
    # The list sits under the cursor: below the last line's top, inside the text area.
    listed = browser.find_element(By.ID, "choices").rect
    area = code.rect
    assert area["y"] < listed["y"] < area["y"] + area["height"] and area["x"] <= listed["x"] < area["x"] + area["width"]
    shot = os.path.join(str(tmp_path_factory.mktemp("screens")), "playground-choices.png")
    assert browser.save_screenshot(shot)
    print(f"screenshot: {shot}")
    code.send_keys(Keys.ARROW_DOWN)
    code.send_keys(Keys.ENTER)  # the second choice
    assert shown_choices(browser) is None
    assert code.get_attribute("value") == PRIME + answer["choices"][1]["text"]
    code.send_keys(Keys.CONTROL, "z")  # the pick, in one step
    assert code.get_attribute("value") == PRIME

    # Esc dismisses, typing dismisses (and types), Tab picks the highlighted one.
    set_status_idle(browser)
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: shown_choices(d) is not None)
    code.send_keys(Keys.ESCAPE)
    assert shown_choices(browser) is None and code.get_attribute("value") == PRIME
    set_status_idle(browser)
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: shown_choices(d) is not None)
    code.send_keys("z")
    assert shown_choices(browser) is None and code.get_attribute("value") == PRIME + "z"
    code.send_keys(Keys.BACKSPACE)
    set_status_idle(browser)
    code.send_keys(Keys.TAB)
    WebDriverWait(browser, 20).until(lambda d: shown_choices(d) is not None)
    code.send_keys(Keys.TAB)
    assert code.get_attribute("value") == PRIME + answer["choices"][0]["text"]
    set_field(browser, "min-prob", "")


def test_nothing_to_offer_leaves_the_text_exactly_as_it_was(server, browser):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    code, status = open_page(browser, server)
    set_field(browser, "min-prob", "1")
    set_field(browser, "choices-count", "0")
    try:
        type_text(code, "print(x)  # note")
        for _ in range(len(")  # note")):
            code.send_keys(Keys.ARROW_LEFT)
        code.send_keys(Keys.TAB)
        WebDriverWait(browser, 20).until(lambda d: settled(status))
        assert re.fullmatch(r"tabcomplete: no completion \(\d+ ms\)", status.text), status.text
        assert code.get_attribute("value") == "print(x)  # note"
        assert browser.execute_script("return arguments[0].selectionStart", code) == len("print(x")
        assert shown_choices(browser) is None
    finally:
        set_field(browser, "min-prob", "")
        set_field(browser, "choices-count", "3")


def expand_page_tabs(buffer):
    """The table writes the editor's own Tab as \t; the page's indents with spaces to the next multiple of 4."""
    out = ""
    for char in buffer:
        if char == "\t":
            column = len(out.replace("|", "").rsplit("\n", 1)[-1])
            out += " " * (4 - column % 4)
        else:
            out += char
    return out


FLOW_SETUP = """
const [input, done] = [arguments[0], arguments[arguments.length - 1]];
const code = document.getElementById('code');
document.getElementById('choices-count').value = String(input.settings.choices ?? 3);
document.getElementById('fallback-tab').checked = Boolean(input.settings.fallbackTab);
document.getElementById('status').textContent = 'tabcomplete';
const cursor = input.buffer.indexOf('|');
code.value = input.buffer.replace('|', '');
code.focus();
code.setSelectionRange(cursor, cursor);
window.__flow = { requests: [], done: false };
window.fetch = async (url, options) => {
  window.__flow.requests.push(JSON.parse(options.body));
  if (input.typed_meanwhile) document.execCommand('insertText', false, input.typed_meanwhile);
  try {
    if (options.signal && options.signal.aborted) throw new DOMException('cancelled', 'AbortError');
    const a = input.answer;
    const [status, body] = a.http_error
      ? [a.http_error.status, { error: { code: 'error', message: a.http_error.message } }]
      : [200, { completion: a.completion, alternatives: a.completion ? [a.completion] : [], model: 'python', elapsed_ms: 1, choices: a.choices }];
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  } finally {
    setTimeout(() => { window.__flow.done = true; }, 0);
  }
};
done(true);
"""


def flow_cases():
    table = TAB_CASES["flow"]
    return [pytest.param({**table["defaults"], **c["input"]}, c["expect"], id=f"flow: {c['name']}") for c in table["cases"]]


@pytest.mark.parametrize("case_input, expect", flow_cases())
def test_flow_case(page, case_input, expect):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    code = page.find_element(By.ID, "code")
    status = page.find_element(By.ID, "status")
    page.execute_async_script(FLOW_SETUP, case_input)
    code.send_keys(Keys.TAB)
    if expect["requests"]:
        WebDriverWait(page, 10).until(lambda d: d.execute_script("return window.__flow.done") and status.text != "tabcomplete …")
    menu = shown_choices(page)
    if menu is not None:
        code.send_keys(Keys.ARROW_DOWN * case_input["pick"] + Keys.ENTER if case_input["pick"] is not None else Keys.ESCAPE)
    requests_sent = page.execute_script("return window.__flow.requests")
    value, cursor = page.execute_script("const c = document.getElementById('code'); return [c.value, c.selectionStart]")
    result = {
        "buffer": value[:cursor] + "|" + value[cursor:],
        "menu": menu,
        "status": None if expect["status"] is None else re.sub(r"\d+ ms", "N ms", status.text),
        "requests": len(requests_sent),
        "choices": requests_sent[0].get("choices", 0) if requests_sent else None,
    }
    page.execute_script("document.getElementById('choices-count').value = '3';"
                        "document.getElementById('fallback-tab').checked = false")
    assert result == {**expect, "buffer": expand_page_tabs(expect["buffer"])}
