// The playground: Tab in the textarea behaves as the editor plug-ins do (DESIGN.md, "Editor behaviour").
// - Tab with only whitespace before the cursor on its line (or a selection): indent.
// - Tab after code: POST /complete; insert the answer at the cursor only if the text and the
//   cursor have not changed meanwhile, else drop it. Empty answer, error or timeout: the normal
//   Tab if nothing changed, and the reason in the status line. The user's text is never lost.
"use strict";

const CONTEXT_CHARS = 4000;
const INDENT = 4;
const code = document.getElementById("code");
const statusLine = document.getElementById("status");
const field = (id) => document.getElementById(id);
let requestSerial = 0; // a newer Tab supersedes an answer still on its way

function setStatus(text, kind) {
  statusLine.textContent = text;
  statusLine.className = kind || "";
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

function indent() {
  const column = lineBeforeCursor().length;
  insertAtCursor(" ".repeat(INDENT - (column % INDENT)));
}

// Tab over a selection indents its lines (never replaces the selected text).
function indentSelection() {
  const value = code.value;
  const from = value.lastIndexOf("\n", code.selectionStart - 1) + 1;
  const to = code.selectionEnd;
  const block = value.slice(from, to).replace(/^/gm, " ".repeat(INDENT));
  code.setSelectionRange(from, to);
  insertAtCursor(block);
  code.setSelectionRange(from, from + block.length);
}

function unchanged(snapshot) {
  return code.value === snapshot.value && code.selectionStart === snapshot.start &&
         code.selectionEnd === snapshot.end;
}

function settings() {
  return {
    language: field("language").value || null,
    stop: field("stop").value,
    max_chars: Math.min(1000, Math.max(1, parseInt(field("max-chars").value, 10) || 80)),
    timeout: Math.max(100, parseInt(field("timeout").value, 10) || 3000),
    temperature: Math.min(2, Math.max(0, parseFloat(field("temperature").value) || 0)),
    seed: field("seed").value === "" ? null : Math.max(0, parseInt(field("seed").value, 10) || 0),
    token: field("token").value,
  };
}

function headers(token) {
  const h = { "Content-Type": "application/json" };
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

async function describeError(response) {
  try {
    const body = await response.json();
    if (body && body.error) return `${response.status} ${body.error.code}: ${body.error.message}`;
  } catch (_) { /* not JSON */ }
  return `HTTP ${response.status}`;
}

async function complete() {
  const snapshot = { value: code.value, start: code.selectionStart, end: code.selectionEnd };
  const serial = ++requestSerial;
  const s = settings();
  const body = {
    text: snapshot.value.slice(Math.max(0, snapshot.start - CONTEXT_CHARS), snapshot.start),
    suffix: snapshot.value.slice(snapshot.end, snapshot.end + CONTEXT_CHARS),
    language: s.language, max_chars: s.max_chars, stop: s.stop,
  };
  if (s.temperature > 0) body.temperature = s.temperature; // 0 is the server's default: deterministic
  if (s.seed !== null) body.seed = s.seed;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), s.timeout);
  const t0 = performance.now();
  setStatus("asking the model…", "pending");
  let reason = null, kind = "error", answer = null;
  try {
    const response = await fetch("/complete", { method: "POST", headers: headers(s.token),
                                               body: JSON.stringify(body), signal: controller.signal });
    if (response.ok) answer = await response.json();
    else reason = await describeError(response);
  } catch (err) {
    reason = err.name === "AbortError" ? `timeout after ${s.timeout} ms` : `server unreachable (${err.message})`;
  } finally {
    clearTimeout(timer);
  }
  if (serial !== requestSerial) return; // a later Tab owns the status line now
  const ms = Math.round(performance.now() - t0);
  if (answer && answer.completion) {
    if (!unchanged(snapshot)) {
      setStatus(`dropped: the text or cursor changed while waiting (${ms} ms)`, "pending");
      return;
    }
    insertAtCursor(answer.completion);
    setStatus(`completed ${answer.completion.length} chars in ${ms} ms (model ${answer.model}: ` +
              `${answer.elapsed_ms} ms)` + (answer.alternatives.length > 1 ?
              `; alternatives: ${answer.alternatives.slice(1).map((a) => JSON.stringify(a)).join(", ")}` : ""));
    return;
  }
  if (answer) { reason = `no completion: the model is not sure here (${ms} ms)`; kind = ""; }
  if (unchanged(snapshot)) indent();
  setStatus(reason, kind);
}

code.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  if (code.selectionStart !== code.selectionEnd) {
    indentSelection();
    return;
  }
  if (lineBeforeCursor().trim() === "") {
    indent();
    return;
  }
  complete();
});

async function loadLanguages() {
  const select = field("language");
  try {
    const response = await fetch("/health");
    const health = await response.json();
    select.replaceChildren(...health.models.map((language) => new Option(language, language, false,
                                                                          language === health.default)));
    setStatus(`ready: ${health.models.join(", ")} (default ${health.default})`);
  } catch (err) {
    setStatus(`server unreachable (${err.message})`, "error");
  }
}

loadLanguages();
