// The playground: Tab in the textarea behaves as the editor plug-ins do (docs/design.md, "Editor behaviour"),
// because it runs their code: /client.js is editor-plugin/shared/client.js (window.tabcomplete), and
// the page is one more adapter of its TabCompleter, as the VS Code and Pulsar plug-ins are.
"use strict";

const client = window.tabcomplete;
const INDENT = 4;
const OTHER_FILE_PATH = "another-file"; // the `files` entry of the "another file" text area
const code = document.getElementById("code");
const statusLine = document.getElementById("status");
const list = document.getElementById("choices");
const field = (id) => document.getElementById(id);

function setStatus(status) {
  if (status.state === "waiting") showDetail(null);
  statusLine.textContent = client.statusText(status);
  statusLine.className = { error: "error", waiting: "pending", dropped: "pending" }[status.state] || "";
}

// Insert at the cursor as one undo step (execCommand keeps the browser's undo history).
function insertAtCursor(text) {
  code.focus();
  if (!document.execCommand("insertText", false, text)) {
    code.setRangeText(text, code.selectionStart, code.selectionEnd, "end");
  }
}

function lineBeforeCursor() {
  const start = code.value.lastIndexOf("\n", code.selectionStart - 1) + 1;
  return code.value.slice(start, code.selectionStart);
}

// The textarea's own Tab would leave it, so the page's normal Tab indents: to the next stop, or
// every line of a selection (never replacing the selected text).
function normalTab() {
  if (code.selectionStart === code.selectionEnd) {
    insertAtCursor(" ".repeat(INDENT - (lineBeforeCursor().length % INDENT)));
    return;
  }
  const value = code.value;
  const from = value.lastIndexOf("\n", code.selectionStart - 1) + 1;
  const to = code.selectionEnd;
  const block = value.slice(from, to).replace(/^/gm, " ".repeat(INDENT));
  code.setSelectionRange(from, to);
  insertAtCursor(block);
  code.setSelectionRange(from, from + block.length);
}

// The page's settings in the plug-ins' terms (client.normalizeSettings checks them).
function settings() {
  const requestOptions = {};
  const temperature = Math.min(2, Math.max(0, parseFloat(field("temperature").value) || 0));
  if (temperature > 0) requestOptions.temperature = temperature; // 0 is the server's default: deterministic
  if (field("seed").value !== "") requestOptions.seed = Math.max(0, parseInt(field("seed").value, 10) || 0);
  if (field("min-prob").value !== "") requestOptions.min_prob = Math.min(1, Math.max(0, parseFloat(field("min-prob").value) || 0));
  return {
    enabled: field("enabled").checked,
    serverUrl: location.origin,
    timeoutMs: Math.min(60000, Math.max(100, parseInt(field("timeout").value, 10) || 3000)),
    maxChars: Math.min(1000, Math.max(1, parseInt(field("max-chars").value, 10) || 80)),
    stop: field("stop").value,
    token: field("token").value,
    languages: ["*"],
    requestOptions,
    filesBudget: client.LIMITS.files_budget_max,
    choices: Math.min(client.MAX_CHOICES, Math.max(0, parseInt(field("choices-count").value, 10) || 0)),
    fallbackTab: field("fallback-tab").checked,
  };
}

// The choices, as a list under the cursor: ↑/↓ move, Enter or Tab picks (one undo step), Esc, typing,
// a click elsewhere or leaving the text area dismisses it.
const menu = { items: null, selected: 0 };

function hideMenu() {
  menu.items = null;
  list.hidden = true;
  list.replaceChildren();
}

function selectItem(i) {
  menu.selected = (i + menu.items.length) % menu.items.length;
  [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === menu.selected)));
}

function pick(i) {
  const { text } = menu.items[i];
  hideMenu();
  insertAtCursor(text);
}

// Where the cursor is drawn inside the text area (a mirror element with the same text and style).
function caretXY() {
  const style = getComputedStyle(code);
  const mirror = document.createElement("div");
  for (const prop of ["font", "lineHeight", "padding", "border", "boxSizing", "width", "letterSpacing", "tabSize", "wordSpacing"]) {
    mirror.style[prop] = style[prop];
  }
  Object.assign(mirror.style, { position: "absolute", visibility: "hidden", whiteSpace: "pre-wrap", overflowWrap: "break-word", top: "0", left: "0" });
  mirror.textContent = code.value.slice(0, code.selectionStart);
  const mark = document.createElement("span");
  mark.textContent = "\u200b";
  mirror.appendChild(mark);
  code.parentNode.appendChild(mirror);
  const xy = { x: mark.offsetLeft - code.scrollLeft, y: mark.offsetTop + mark.offsetHeight - code.scrollTop };
  mirror.remove();
  return xy;
}

function showMenu(items) {
  menu.items = items;
  list.replaceChildren(...items.map((item, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    const label = document.createElement("span");
    label.className = "t";
    label.textContent = item.label;
    const p = document.createElement("span");
    p.className = "p";
    p.textContent = item.detail;
    li.append(label, p);
    li.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus (and the cursor) in the text area
      pick(i);
    });
    return li;
  }));
  const { x, y } = caretXY();
  list.style.left = `${Math.max(0, Math.min(x, code.clientWidth - 160))}px`;
  list.style.top = `${Math.max(0, Math.min(y, code.offsetHeight))}px`;
  list.hidden = false;
  selectItem(0);
}

// The textarea as an editor, for client.TabCompleter.
const textarea = {
  read() {
    const start = code.selectionStart;
    const end = code.selectionEnd;
    return { linePrefix: lineBeforeCursor(), text: code.value.slice(0, start), suffix: code.value.slice(end),
             language: field("language").value, path: "", simple: start === end };
  },
  files() {
    const text = field("other-file").value;
    return text ? [{ path: OTHER_FILE_PATH, language: field("language").value, text, used: 1 }] : [];
  },
  snapshot() {
    return JSON.stringify([code.value, code.selectionStart, code.selectionEnd]);
  },
  normalTab,
  insert: insertAtCursor,
  menu(items, snapshot) {
    if (snapshot !== textarea.snapshot()) return false; // a stale menu is never shown
    showMenu(items);
    return true;
  },
};

function showDetail(answer) {
  const alternatives = answer && answer.alternatives.length > 1
    ? `; alternatives: ${answer.alternatives.slice(1).map((a) => JSON.stringify(a)).join(", ")}` : "";
  field("detail").textContent = answer ? `model ${answer.model}, ${answer.elapsedMs} ms on the server${alternatives}` : "";
}

const completer = new client.TabCompleter({ getSettings: settings, onStatus: setStatus });

// While the choices show, the keys are the list's: arrows move, Enter or Tab picks, Esc dismisses; any
// other key dismisses it and does what it does.
function menuKey(event) {
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) selectItem(menu.selected + moves[event.key]);
  else if (event.key === "Enter" || event.key === "Tab") pick(menu.selected);
  else if (event.key === "Escape") hideMenu();
  else {
    hideMenu();
    return;
  }
  event.preventDefault();
}

code.addEventListener("keydown", async (event) => {
  if (menu.items) {
    menuKey(event);
    return;
  }
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  const outcome = await completer.onTab(textarea);
  if (outcome.answer) showDetail(outcome.answer);
});

// Typing while a request is in flight makes its answer stale: stop waiting for it (and close the choices).
code.addEventListener("input", () => {
  completer.cancel();
  if (menu.items) hideMenu();
});
code.addEventListener("mousedown", hideMenu);
code.addEventListener("blur", hideMenu);

field("enabled").addEventListener("change", () => setStatus({ state: field("enabled").checked ? "idle" : "off" }));

async function loadLanguages() {
  const select = field("language");
  try {
    const response = await fetch("/health");
    const health = await response.json();
    select.replaceChildren(...health.models.map((language) => new Option(language, language, false,
                                                                          language === health.default)));
    field("models").textContent = `models: ${health.models.join(", ")} (default ${health.default})`;
  } catch (err) {
    field("models").textContent = `server unreachable (${err.message})`;
  }
}

setStatus({ state: "idle" });
loadLanguages();
