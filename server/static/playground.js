// The playground: Tab in the textarea behaves as the editor plug-ins do (DESIGN.md, "Editor behaviour").
// The decision is the browser's copy of the plug-ins' pure functions (decideTab, decideAnswer,
// statusText, buildBody in editor-plugin/shared/client.js): this page is served from server/static/
// alone, so it cannot load that file. tests/test_playground.py runs editor-plugin/shared/tab-cases.json
// through window.tabcomplete, as the plug-ins' tests run it through theirs, so the copies cannot drift.
"use strict";

const LIMITS = { text_chars: 4000, suffix_chars: 4000 }; // editor-plugin/shared/limits.json (the test compares)
const INDENT = 4;
const OTHER_FILE_PATH = "another-file"; // the `files` entry of the "another file" text area
const code = document.getElementById("code");
const statusLine = document.getElementById("status");
const field = (id) => document.getElementById(id);
let pending = null; // AbortController of the request in flight; a newer Tab or typing cancels it

// ---- The pure part, as in editor-plugin/shared/client.js ----

// Characters are Unicode code points, as the server counts them: a surrogate pair is one character.
const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

function lastChars(s, n) {
  if (s.length <= n) return s;
  let i = s.length;
  for (let count = 0; count < n && i > 0; count += 1) {
    i -= 1;
    if (isLow(s.charCodeAt(i)) && i > 0 && isHigh(s.charCodeAt(i - 1))) i -= 1;
  }
  return s.slice(i);
}

function firstChars(s, n) {
  if (s.length <= n) return s;
  let i = 0;
  for (let count = 0; count < n && i < s.length; count += 1) {
    i += isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return s.slice(0, i);
}

function decideTab({ enabled, simple, line_prefix, language, languages, force }) {
  if (force) return simple ? { action: "request", reason: "forced" } : { action: "none", reason: "selection" };
  if (!enabled) return { action: "tab", reason: "disabled" };
  if (!simple) return { action: "tab", reason: "selection" };
  if (/^[ \t]*$/.test(line_prefix)) return { action: "indent", reason: "indent" };
  if (!(languages.includes("*") || languages.includes(language))) return { action: "tab", reason: "language" };
  return { action: "request", reason: "code" };
}

function failureMessage(failure) {
  switch (failure.kind) {
    case "timeout": return `timeout after ${failure.timeout_ms} ms`;
    case "unreachable": return `server not running at ${failure.url}`;
    case "network": return `cannot reach ${failure.url}: ${failure.detail}`;
    case "http": return `server error ${failure.status}: ${failure.message}`;
    case "not-json": return `server answered ${failure.status} with a body that is not JSON`;
    case "bad-answer": return `bad answer from server: ${failure.why}`;
    default: return `request failed: ${failure.kind}`;
  }
}

function decideAnswer({ force, unchanged, result }) {
  if (result.cancelled) return { action: "drop", reason: "aborted", status: { state: "dropped", message: "cancelled (text changed)" } };
  let fallback = "drop";
  if (unchanged) fallback = force ? "none" : "tab";
  if (result.failure) return { action: fallback, reason: result.failure.kind, status: { state: "error", message: failureMessage(result.failure) } };
  if (result.completion === "") return { action: fallback, reason: "empty", status: { state: "empty", ms: result.ms } };
  if (!unchanged) return { action: "drop", reason: "changed", status: { state: "dropped", message: "answer dropped (text changed)" } };
  return { action: "insert", reason: "completed", status: { state: "ok", ms: result.ms } };
}

function statusText(status) {
  switch (status.state) {
    case "off": return "tabcomplete off";
    case "waiting": return "tabcomplete …";
    case "ok": return `tabcomplete ${Math.round(status.ms)} ms`;
    case "empty": return `tabcomplete: no completion (${Math.round(status.ms)} ms)`;
    case "dropped":
    case "error": return `tabcomplete: ${status.message}`;
    default: return "tabcomplete";
  }
}

function buildBody({ text, suffix = "", language, path, files }, { max_chars, stop, request_options = {} }) {
  const body = {
    ...request_options,
    text: lastChars(text, LIMITS.text_chars),
    suffix: firstChars(suffix, LIMITS.suffix_chars),
    max_chars,
    stop,
  };
  if (language) body.language = language;
  if (path) body.path = path;
  if (files && files.length) body.files = files;
  return body;
}

window.tabcomplete = { LIMITS, decideTab, decideAnswer, statusText, buildBody };

// ---- The page ----

function setStatus(status) {
  statusLine.textContent = statusText(status);
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

function unchanged(snapshot) {
  return code.value === snapshot.value && code.selectionStart === snapshot.start &&
         code.selectionEnd === snapshot.end;
}

function settings() {
  const request_options = {};
  const temperature = Math.min(2, Math.max(0, parseFloat(field("temperature").value) || 0));
  if (temperature > 0) request_options.temperature = temperature; // 0 is the server's default: deterministic
  if (field("seed").value !== "") request_options.seed = Math.max(0, parseInt(field("seed").value, 10) || 0);
  return {
    enabled: field("enabled").checked,
    language: field("language").value,
    stop: field("stop").value,
    max_chars: Math.min(1000, Math.max(1, parseInt(field("max-chars").value, 10) || 80)),
    timeout_ms: Math.max(100, parseInt(field("timeout").value, 10) || 3000),
    request_options,
    token: field("token").value,
  };
}

function headers(token) {
  const h = { "Content-Type": "application/json" };
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

// An HTTP answer as decideAnswer's result (plus the answer itself, for the detail line).
function readAnswer(response, raw, ms) {
  let json;
  try {
    json = JSON.parse(raw);
  } catch (_) {
    return { failure: { kind: "not-json", status: response.status } };
  }
  if (!response.ok) {
    const message = json && json.error && typeof json.error.message === "string" ? json.error.message : "no message";
    return { failure: { kind: "http", status: response.status, message } };
  }
  if (!json || typeof json.completion !== "string") return { failure: { kind: "bad-answer", why: '"completion" is not a string' } };
  return { completion: json.completion, ms, answer: json };
}

function showDetail(answer) {
  const alternatives = answer && answer.alternatives.length > 1
    ? `; alternatives: ${answer.alternatives.slice(1).map((a) => JSON.stringify(a)).join(", ")}` : "";
  field("detail").textContent = answer ? `model ${answer.model}, ${answer.elapsed_ms} ms on the server${alternatives}` : "";
}

async function complete(s) {
  if (pending) pending.abort();
  const controller = new AbortController();
  pending = controller;
  const snapshot = { value: code.value, start: code.selectionStart, end: code.selectionEnd };
  const other = field("other-file").value;
  const body = buildBody({
    text: snapshot.value.slice(0, snapshot.start),
    suffix: snapshot.value.slice(snapshot.end),
    language: s.language,
    files: other ? [{ path: OTHER_FILE_PATH, text: other }] : [],
  }, s);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; controller.abort(); }, s.timeout_ms);
  const t0 = performance.now();
  setStatus({ state: "waiting" });
  let result;
  try {
    const response = await fetch("/complete", { method: "POST", headers: headers(s.token),
                                               body: JSON.stringify(body), signal: controller.signal });
    result = readAnswer(response, await response.text(), performance.now() - t0);
  } catch (err) {
    if (timedOut) result = { failure: { kind: "timeout", timeout_ms: s.timeout_ms } };
    else if (controller.signal.aborted) result = { cancelled: true };
    else result = { failure: { kind: "network", url: location.origin, detail: err.message } };
  } finally {
    clearTimeout(timer);
  }
  if (result.cancelled && pending !== null && pending !== controller) return; // a newer Tab owns the status
  if (pending === controller) pending = null;
  const decision = decideAnswer({ force: false, unchanged: unchanged(snapshot), result });
  if (decision.action === "insert") insertAtCursor(result.completion);
  setStatus(decision.status);
  showDetail(result.answer);
  if (decision.action === "tab") normalTab();
}

code.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  const s = settings();
  const decision = decideTab({ enabled: s.enabled, simple: code.selectionStart === code.selectionEnd,
                               line_prefix: lineBeforeCursor(), language: s.language, languages: ["*"], force: false });
  if (decision.action === "request") complete(s);
  else normalTab();
});

// Typing while a request is in flight makes its answer stale: stop waiting for it.
code.addEventListener("input", () => {
  if (!pending) return;
  const controller = pending;
  pending = null;
  controller.abort();
});

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
