'use strict';
// The part of the editor plug-ins that does not depend on the editor: settings, the request,
// timeout and abort, answer validation, and the Tab decision (indent, complete, offer a menu of
// ranked choices, or leave the text alone).
// The decision is pure functions (decideTab, decideAnswer, statusText, buildBody, selectFiles, menuItems) that
// the Neovim plug-in implements too; shared/tab-cases.json holds both to it. The server's playground
// runs this file in the browser (GET /client.js wraps it; its exports become window.tabcomplete).
// CommonJS without dependencies so VS Code and Pulsar can both load it; needs Node 18+ (fetch).

const LIMITS = require('./limits.json'); // the request caps, shared with the Neovim plug-in
const STOP_MODES = ['line', 'block', 'none'];
// Sampling fields of POST /complete a user may add to every request (docs/design.md, HTTP API).
const REQUEST_OPTIONS = ['temperature', 'min_prob', 'seed'];

const DEFAULT_SETTINGS = Object.freeze({
  enabled: true,
  serverUrl: 'http://127.0.0.1:8000',
  timeoutMs: 3000,
  maxChars: 80,
  stop: 'line',
  token: '',
  // The server's language names (serverLanguage maps an editor's ids to them); '*' enables every language.
  languages: ['python', 'c', 'javascript', 'typescript', 'lua'],
  inline: false,
  requestOptions: {}, // e.g. {temperature: 0.5, seed: 1}; the server checks the ranges
  filesBudget: LIMITS.files_budget_default, // characters of other open files sent as hints; 0: none
  choices: 3, // ranked choices to ask for, shown as a menu when the completion is empty; 0: no menu
  fallbackTab: false, // nothing to offer after code: true types the editor's normal Tab (the old behaviour)
});
const MAX_CHOICES = 10; // the most choices POST /complete accepts

class CompletionError extends Error {
  // kind: 'settings' | 'aborted' | a failure's kind (see failureMessage); failure: the failure itself
  constructor(kind, message, status, failure) {
    super(message);
    this.name = 'CompletionError';
    this.kind = kind;
    this.status = status;
    this.failure = failure;
  }
}

function isInt(value, lo, hi) {
  return Number.isInteger(value) && value >= lo && value <= hi;
}

// Settings come from the editor's config store; a bad value is named in the error.
function normalizeSettings(raw = {}) {
  const s = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    if (raw[key] !== undefined && raw[key] !== null) s[key] = raw[key];
  }
  const bad = (name, why) => new CompletionError('settings', `setting ${name} ${why}`);
  if (typeof s.enabled !== 'boolean') throw bad('enabled', 'must be true or false');
  if (typeof s.inline !== 'boolean') throw bad('inline', 'must be true or false');
  if (typeof s.fallbackTab !== 'boolean') throw bad('fallbackTab', 'must be true or false');
  if (!isInt(s.choices, 0, MAX_CHOICES)) throw bad('choices', `must be an integer 0..${MAX_CHOICES} (0: no menu)`);
  let url;
  try {
    url = new URL(String(s.serverUrl));
  } catch (_) {
    throw bad('serverUrl', `is not a URL: ${JSON.stringify(s.serverUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('serverUrl', 'must be http:// or https://');
  s.serverUrl = url.href.replace(/\/+$/, '');
  if (!isInt(s.timeoutMs, 1, 600000)) throw bad('timeoutMs', 'must be an integer 1..600000 (milliseconds)');
  if (!isInt(s.maxChars, 1, 1000)) throw bad('maxChars', 'must be an integer 1..1000');
  if (!STOP_MODES.includes(s.stop)) throw bad('stop', `must be one of ${STOP_MODES.join(', ')}`);
  if (typeof s.token !== 'string') throw bad('token', 'must be a string');
  if (!Array.isArray(s.languages) || !s.languages.every((l) => typeof l === 'string')) {
    throw bad('languages', 'must be a list of language ids');
  }
  const opts = s.requestOptions;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw bad('requestOptions', 'must be an object');
  for (const [key, value] of Object.entries(opts)) {
    if (!REQUEST_OPTIONS.includes(key)) throw bad('requestOptions', `may only hold ${REQUEST_OPTIONS.join(', ')}, not ${key}`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`requestOptions.${key}`, 'must be a number');
  }
  if (!isInt(s.filesBudget, 0, LIMITS.files_budget_max)) {
    throw bad('filesBudget', `must be an integer 0..${LIMITS.files_budget_max} (characters; 0 sends no other files)`);
  }
  return s;
}

// An editor's id for a language -> the name the server's models go by, where the two differ: VS Code's
// and Neovim's javascriptreact (.jsx: the JavaScript model reads JSX), Pulsar's grammar scopes without
// 'source.' (source.js -> js). Other ids are the server's names already (python, c, typescript, lua...);
// typescriptreact and cpp stay as they are (no model of the server reads them).
const LANGUAGE_ALIASES = Object.freeze({
  javascriptreact: 'javascript', js: 'javascript', ts: 'typescript', py: 'python', shell: 'shellscript', 'c++': 'cpp',
});

// A C header is C: VS Code and Neovim call every .h file cpp (they cannot tell a C header from a C++
// one); the server's C model completes it. Other C++ files (.cpp, .hpp, ...) stay cpp.
function serverLanguage(id, path = '') {
  const language = LANGUAGE_ALIASES[id] || id || '';
  return language === 'cpp' && /\.h$/.test(path || '') ? 'c' : language;
}

function languageEnabled(settings, language) {
  return settings.languages.includes('*') || settings.languages.includes(language);
}

// docs/design.md: Tab with only whitespace (spaces, tabs) before the cursor on its line is the normal Tab.
function onlyWhitespaceBefore(linePrefix) {
  return /^[ \t]*$/.test(linePrefix);
}

// Characters are Unicode code points, as the server counts them: a surrogate pair is one character.
const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

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

function charCount(s) {
  let n = 0;
  for (let i = 0; i < s.length; i += 1) if (!(isLow(s.charCodeAt(i)) && i > 0 && isHigh(s.charCodeAt(i - 1)))) n += 1;
  return n;
}

// Tab pressed: {action: 'indent' | 'tab' (the editor's own Tab) | 'request' | 'none', reason}.
function decideTab({ enabled, simple, line_prefix, language, languages, force }) {
  if (force) return simple ? { action: 'request', reason: 'forced' } : { action: 'none', reason: 'selection' };
  if (!enabled) return { action: 'tab', reason: 'disabled' };
  if (!simple) return { action: 'tab', reason: 'selection' };
  if (onlyWhitespaceBefore(line_prefix)) return { action: 'indent', reason: 'indent' };
  if (!languageEnabled({ languages }, language)) return { action: 'tab', reason: 'language' };
  return { action: 'request', reason: 'code' };
}

// Why a request failed, in the words every editor shows.
function failureMessage(failure) {
  switch (failure.kind) {
    case 'timeout': return `timeout after ${failure.timeout_ms} ms`;
    case 'unreachable': return `server not running at ${failure.url}`;
    case 'network': return `cannot reach ${failure.url}: ${failure.detail}`;
    case 'http': return `server error ${failure.status}: ${failure.message}`;
    case 'not-json': return `server answered ${failure.status} with a body that is not JSON`;
    case 'bad-answer': return `bad answer from server: ${failure.why}`;
    default: return `request failed: ${failure.kind}`;
  }
}

// The request ended. result: {completion, choices, ms} | {failure} | {cancelled: true}; unchanged: the
// document and cursor are as they were at Tab; fallback_tab: the user wants the old normal Tab when
// there is nothing to offer. -> {action: 'insert' | 'menu' | 'drop' | 'tab' | 'none', reason, status}.
// Nothing to offer (an empty answer without choices, an error, a timeout) leaves the text exactly as it
// was: no whitespace typed after code unless fallback_tab asks for it (never for complete-now).
function decideAnswer({ force, unchanged, result, fallback_tab: fallbackTab = false }) {
  if (result.cancelled) return { action: 'drop', reason: 'aborted', status: { state: 'dropped', message: 'cancelled (text changed)' } };
  let nothing = 'drop'; // the text changed: leave it alone
  if (unchanged) nothing = fallbackTab && !force ? 'tab' : 'none';
  if (result.failure) return { action: nothing, reason: result.failure.kind, status: { state: 'error', message: failureMessage(result.failure) } };
  const choices = result.choices || [];
  if (result.completion === '' && choices.length === 0) return { action: nothing, reason: 'empty', status: { state: 'empty', ms: result.ms } };
  if (!unchanged) return { action: 'drop', reason: 'changed', status: { state: 'dropped', message: 'answer dropped (text changed)' } };
  if (result.completion === '') return { action: 'menu', reason: 'choices', status: { state: 'choices', count: choices.length, ms: result.ms } };
  return { action: 'insert', reason: 'completed', status: { state: 'ok', ms: result.ms } };
}

// A probability as the menus show it: whole percent, "<1%" below half a percent.
function percent(probability) {
  const whole = Math.floor(probability * 100 + 0.5);
  return whole < 1 ? '<1%' : `${whole}%`;
}

// The menu the editor shows for the answer's choices, in the server's order (most probable first):
// text (what picking inserts), label (the text on one line: a line break shows as ⏎) and detail (the probability).
function menuItems(choices) {
  return choices.map((c) => ({ text: c.text, label: c.text.replace(/\r?\n/g, '⏎'), detail: percent(c.probability) }));
}

// The status text every editor shows; ms is the round trip the user waited.
function statusText(status) {
  switch (status.state) {
    case 'off': return 'tabcomplete off';
    case 'waiting': return 'tabcomplete …';
    case 'ok': return `tabcomplete ${Math.round(status.ms)} ms`;
    case 'empty': return `tabcomplete: no completion (${Math.round(status.ms)} ms)`;
    case 'choices': return `tabcomplete: ${status.count} choice${status.count === 1 ? '' : 's'} (${Math.round(status.ms)} ms)`;
    case 'dropped':
    case 'error': return `tabcomplete: ${status.message}`;
    default: return 'tabcomplete';
  }
}

// Other open documents to send as `files`: same language, not the current one, not untitled or
// binary, most recently used first, whole files while the budget (characters) lasts, files_max at most.
// candidates: [{path, language, text, used (larger: more recent), untitled?, binary?}]
function selectFiles(current, candidates, budget) {
  const usable = candidates
    .filter((c) => c.path && !c.untitled && !c.binary && c.text && !c.text.includes('\0')
      && c.language === current.language && c.path !== current.path)
    .sort((a, b) => b.used - a.used); // stable: equally recent files keep the editor's order
  const chosen = [];
  const seen = new Set();
  let left = budget;
  for (const c of usable) {
    if (chosen.length >= LIMITS.files_max) break;
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    const size = charCount(c.text);
    if (size > left) continue;
    left -= size;
    chosen.push({ path: c.path, text: c.text });
  }
  return chosen;
}

// The POST /complete body. input: {text (before the cursor), suffix, language, path, files};
// options: {max_chars, stop, request_options, choices}. Empty language, path and files, and choices 0, are left out.
function buildBody({ text, suffix = '', language, path, files }, { max_chars, stop, request_options = {}, choices = 0 }) {
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
  if (choices > 0) body.choices = choices;
  return body;
}

function buildRequest(input, settings) {
  const body = buildBody(input, { max_chars: settings.maxChars, stop: settings.stop, request_options: settings.requestOptions,
    choices: settings.choices });
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
  return { url: `${settings.serverUrl}/complete`, method: 'POST', headers, body: JSON.stringify(body) };
}

// The 200 answer per docs/design.md: {"completion": str, "alternatives": [str], "model": str, "elapsed_ms": number},
// and "choices": [{"text": str, "probability": number}] when the request asked for them (none: []).
function validateAnswer(json) {
  const fail = (why) => failed({ kind: 'bad-answer', why });
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail('not a JSON object');
  if (typeof json.completion !== 'string') throw fail('"completion" is not a string');
  if (!Array.isArray(json.alternatives) || !json.alternatives.every((a) => typeof a === 'string')) {
    throw fail('"alternatives" is not a list of strings');
  }
  if (typeof json.model !== 'string') throw fail('"model" is not a string');
  if (typeof json.elapsed_ms !== 'number' || !Number.isFinite(json.elapsed_ms)) throw fail('"elapsed_ms" is not a number');
  const choices = json.choices === undefined ? [] : json.choices;
  if (!Array.isArray(choices) || !choices.every((c) => c !== null && typeof c === 'object' && typeof c.text === 'string'
    && c.text !== '' && typeof c.probability === 'number' && c.probability > 0 && c.probability <= 1)) {
    throw fail('"choices" is not a list of {text, probability}');
  }
  return { completion: json.completion, alternatives: json.alternatives, model: json.model, elapsedMs: json.elapsed_ms,
    choices: choices.map((c) => ({ text: c.text, probability: c.probability })) };
}

function failed(failure) {
  return new CompletionError(failure.kind, failureMessage(failure), failure.status, failure);
}

function fetchFailure(err, url) {
  const code = (err && err.cause && err.cause.code) || (err && err.code);
  if (code === 'ECONNREFUSED') return { kind: 'unreachable', url };
  return { kind: 'network', url, detail: code || (err && err.message) || String(err) };
}

// POSTs the request; resolves to the validated answer plus latencyMs (the round trip), or rejects
// with a CompletionError whose .failure decideAnswer takes.
async function requestCompletion(request, settings, { signal, fetchImpl = globalThis.fetch } = {}) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, settings.timeoutMs);
  const onAbort = () => controller.abort();
  if (signal) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const started = Date.now();
  let response;
  let bodyText;
  try {
    response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    });
    bodyText = await response.text(); // inside the try: a slow body counts against the timeout too
  } catch (err) {
    if (timedOut) throw failed({ kind: 'timeout', timeout_ms: settings.timeoutMs });
    if (controller.signal.aborted) throw new CompletionError('aborted', 'cancelled');
    throw failed(fetchFailure(err, settings.serverUrl));
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
  let json;
  try {
    json = JSON.parse(bodyText);
  } catch (_) {
    throw failed({ kind: 'not-json', status: response.status });
  }
  if (!response.ok) {
    const message = json && json.error && typeof json.error.message === 'string' ? json.error.message : 'no message';
    throw failed({ kind: 'http', status: response.status, message });
  }
  return { ...validateAnswer(json), latencyMs: Date.now() - started };
}

// Documents in the order they were last active: adapters give each candidate file `used: rank(key)`.
class RecentlyUsed {
  constructor() {
    this.ticks = new Map();
    this.tick = 0;
  }

  touch(key) {
    if (key !== undefined && key !== null) this.ticks.set(key, ++this.tick);
  }

  rank(key) {
    return this.ticks.get(key) || 0;
  }

  forget(key) {
    this.ticks.delete(key);
  }
}

const ACTIONS_DONE = { insert: 'inserted', menu: 'menu', drop: 'dropped', tab: 'tab', none: 'none', indent: 'indent', request: 'request' };

/*
 * The Tab decision at work, shared by the plug-ins. An adapter wraps one editor and provides:
 *   read()            -> {linePrefix, text, suffix, language, path, simple}  (simple: one cursor, no selection)
 *   files()           -> (optional) other open documents: [{path, language, text, used, untitled, binary}]
 *   snapshot()        -> a string that changes when the document, the cursor or the active editor change
 *   normalTab(late)   -> the editor's own Tab (late: true once a request has gone out)
 *   insert(text)      -> insert at the cursor as one undo step
 *   show(text)        -> (inline mode) show the text as a suggestion instead of inserting it
 *   menu(items, snapshot) -> show menuItems(choices) in the editor's own menu at the cursor; picking one inserts
 *                        its text as one undo step, typing or Esc dismisses it, and it is never shown once
 *                        snapshot() differs from the snapshot given; false: the editor cannot show a menu
 * and a status sink `onStatus({state, ms, message, count})`.
 */
class TabCompleter {
  constructor({ getSettings, onStatus = () => {}, fetchImpl } = {}) {
    this.getSettings = getSettings;
    this.onStatus = onStatus;
    this.fetchImpl = fetchImpl;
    this.pending = null; // AbortController of the request in flight
  }

  cancel() {
    if (this.pending) this.pending.abort();
    this.pending = null;
  }

  // Never throws: every failure ends as a status and an outcome {action, reason}.
  async onTab(editor, { force = false } = {}) {
    try {
      return await this._onTab(editor, force);
    } catch (err) {
      this.onStatus({ state: 'error', message: `internal error: ${err && err.message}` });
      return { action: 'error', reason: String(err && err.message) };
    }
  }

  async _onTab(editor, force) {
    let settings;
    try {
      settings = normalizeSettings(this.getSettings());
    } catch (err) {
      this.onStatus({ state: 'error', message: err.message });
      if (!force) await editor.normalTab(false);
      return { action: 'tab', reason: 'settings' };
    }
    const ctx = editor.read();
    const tab = decideTab({ enabled: settings.enabled, simple: ctx.simple, line_prefix: ctx.linePrefix,
      language: ctx.language, languages: settings.languages, force });
    if (tab.action !== 'request') {
      if (tab.action !== 'none') await editor.normalTab(false);
      return { action: ACTIONS_DONE[tab.action], reason: tab.reason };
    }

    this.cancel(); // a newer Tab supersedes a request still in flight
    const controller = new AbortController();
    this.pending = controller;
    const before = editor.snapshot();
    const files = settings.filesBudget > 0 && editor.files
      ? selectFiles({ path: ctx.path, language: ctx.language }, editor.files(), settings.filesBudget) : [];
    this.onStatus({ state: 'waiting' });
    let result;
    let answer;
    try {
      answer = await requestCompletion(buildRequest({ ...ctx, files }, settings), settings, {
        signal: controller.signal,
        fetchImpl: this.fetchImpl,
      });
      result = { completion: answer.completion, choices: answer.choices, ms: answer.latencyMs };
    } catch (err) {
      if (!(err instanceof CompletionError) || err.kind === 'settings') throw err;
      // Aborted: cancelled because the document changed, or superseded by a newer Tab (which owns the status).
      if (err.kind === 'aborted' && this.pending !== controller && this.pending !== null) return { action: 'dropped', reason: 'aborted' };
      result = err.kind === 'aborted' ? { cancelled: true } : { failure: err.failure };
    }
    if (this.pending === controller) this.pending = null;
    const decision = decideAnswer({ force, unchanged: editor.snapshot() === before, result, fallback_tab: settings.fallbackTab });
    const outcome = { action: ACTIONS_DONE[decision.action], reason: decision.reason };
    if (answer) outcome.answer = answer;
    if (decision.action === 'insert' && settings.inline && editor.show) {
      await editor.show(answer.completion);
      this.onStatus(decision.status);
      return { action: 'shown', answer };
    }
    if (decision.action === 'insert' && (await editor.insert(answer.completion)) === false) {
      this.onStatus({ state: 'dropped', message: 'editor refused the edit' });
      return { action: 'dropped', reason: 'refused', answer };
    }
    if (decision.action === 'menu') {
      if (!editor.menu || (await editor.menu(menuItems(answer.choices), before)) === false) {
        this.onStatus({ state: 'dropped', message: 'this editor cannot show the choices' });
        return { action: 'none', reason: 'no-menu', answer };
      }
    }
    this.onStatus(decision.status);
    if (decision.action === 'tab') await editor.normalTab(true);
    return outcome;
  }
}

module.exports = {
  LIMITS,
  STOP_MODES,
  REQUEST_OPTIONS,
  MAX_CHOICES,
  DEFAULT_SETTINGS,
  CompletionError,
  normalizeSettings,
  LANGUAGE_ALIASES,
  serverLanguage,
  languageEnabled,
  onlyWhitespaceBefore,
  lastChars,
  firstChars,
  charCount,
  decideTab,
  failureMessage,
  decideAnswer,
  percent,
  menuItems,
  statusText,
  selectFiles,
  buildBody,
  buildRequest,
  validateAnswer,
  requestCompletion,
  RecentlyUsed,
  TabCompleter,
};
