'use strict';
// The part of the editor plug-ins that does not depend on the editor: settings, the request,
// timeout and abort, answer validation, and the Tab decision (indent, complete, fall back).
// CommonJS without dependencies so VS Code and Pulsar can both load it; needs Node 18+ (fetch).

const CONTEXT_CHARS = 4000; // DESIGN.md: text is the buffer up to the cursor, last 4000 chars
const SUFFIX_CHARS = 4000; // keeps the body small in big files; the model reads the prefix
const STOP_MODES = ['line', 'block', 'none'];
// Sampling fields of POST /complete a user may add to every request (DESIGN.md, HTTP API).
const REQUEST_OPTIONS = ['temperature', 'min_prob', 'seed'];

const DEFAULT_SETTINGS = Object.freeze({
  enabled: true,
  serverUrl: 'http://127.0.0.1:8000',
  timeoutMs: 3000,
  maxChars: 80,
  stop: 'line',
  token: '',
  languages: ['python'], // '*' enables every language
  inline: false,
  requestOptions: {}, // e.g. {temperature: 0.5, seed: 1}; the server checks the ranges
});

class CompletionError extends Error {
  // kind: 'settings' | 'timeout' | 'unreachable' | 'http' | 'bad-answer' | 'aborted'
  constructor(kind, message, status) {
    super(message);
    this.name = 'CompletionError';
    this.kind = kind;
    this.status = status;
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
  return s;
}

function languageEnabled(settings, language) {
  return settings.languages.includes('*') || settings.languages.includes(language);
}

// DESIGN.md: Tab with only whitespace before the cursor on its line is the editor's normal Tab.
function onlyWhitespaceBefore(linePrefix) {
  return /^\s*$/.test(linePrefix);
}

function buildRequest({ text, suffix = '', language }, settings) {
  const body = {
    ...settings.requestOptions,
    text: text.slice(-CONTEXT_CHARS),
    suffix: suffix.slice(0, SUFFIX_CHARS),
    max_chars: settings.maxChars,
    stop: settings.stop,
  };
  if (language) body.language = language;
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
  return { url: `${settings.serverUrl}/complete`, method: 'POST', headers, body: JSON.stringify(body) };
}

// The 200 answer per DESIGN.md: {"completion": str, "alternatives": [str], "model": str, "elapsed_ms": number}.
function validateAnswer(json) {
  const fail = (why) => new CompletionError('bad-answer', `bad answer from server: ${why}`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail('not a JSON object');
  if (typeof json.completion !== 'string') throw fail('"completion" is not a string');
  if (!Array.isArray(json.alternatives) || !json.alternatives.every((a) => typeof a === 'string')) {
    throw fail('"alternatives" is not a list of strings');
  }
  if (typeof json.model !== 'string') throw fail('"model" is not a string');
  if (typeof json.elapsed_ms !== 'number' || !Number.isFinite(json.elapsed_ms)) throw fail('"elapsed_ms" is not a number');
  return { completion: json.completion, alternatives: json.alternatives, model: json.model, elapsedMs: json.elapsed_ms };
}

function describeFetchFailure(err, url) {
  const code = (err && err.cause && err.cause.code) || (err && err.code);
  if (code === 'ECONNREFUSED') return `server not running at ${url}`;
  return `cannot reach ${url}: ${code || (err && err.message) || err}`;
}

// POSTs the request; resolves to the validated answer plus latencyMs, or rejects with a CompletionError.
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
    if (timedOut) throw new CompletionError('timeout', `timeout after ${settings.timeoutMs} ms`);
    if (controller.signal.aborted) throw new CompletionError('aborted', 'cancelled');
    throw new CompletionError('unreachable', describeFetchFailure(err, settings.serverUrl));
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
  let json;
  try {
    json = JSON.parse(bodyText);
  } catch (_) {
    throw new CompletionError('bad-answer', `server answered ${response.status} with a body that is not JSON`, response.status);
  }
  if (!response.ok) {
    const message = json && json.error && typeof json.error.message === 'string' ? json.error.message : 'no message';
    throw new CompletionError('http', `server error ${response.status}: ${message}`, response.status);
  }
  return { ...validateAnswer(json), latencyMs: Date.now() - started };
}

// Status line texts, shared so every plug-in says the same thing.
function statusText(status) {
  switch (status.state) {
    case 'off': return 'tabcomplete off';
    case 'waiting': return 'tabcomplete …';
    case 'ok': return `tabcomplete ${status.latencyMs} ms`;
    case 'empty': return `tabcomplete: no completion (${status.latencyMs} ms)`;
    case 'dropped': return `tabcomplete: ${status.message}`;
    case 'error': return `tabcomplete: ${status.message}`;
    default: return 'tabcomplete';
  }
}

/*
 * The Tab decision, shared by the plug-ins. An adapter wraps one editor and provides:
 *   read()            -> {linePrefix, text, suffix, language, simple}  (simple: one cursor, no selection)
 *   snapshot()        -> a string that changes when the document, the cursor or the active editor change
 *   normalTab(late)   -> the editor's own Tab (late: true once a request has gone out)
 *   insert(text)      -> insert at the cursor as one undo step
 *   show(text)        -> (inline mode) show the text as a suggestion instead of inserting it
 * and a status sink `onStatus({state, latencyMs, message})`.
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
    if (!force) {
      if (!settings.enabled) return this._tab(editor, 'disabled');
      if (!ctx.simple) return this._tab(editor, 'selection');
      if (onlyWhitespaceBefore(ctx.linePrefix)) return this._tab(editor, 'indent');
      if (!languageEnabled(settings, ctx.language)) return this._tab(editor, 'language');
    } else if (!ctx.simple) {
      return { action: 'none', reason: 'selection' };
    }

    this.cancel(); // a newer Tab supersedes a request still in flight
    const controller = new AbortController();
    this.pending = controller;
    const before = editor.snapshot();
    this.onStatus({ state: 'waiting' });
    let answer;
    try {
      answer = await requestCompletion(buildRequest(ctx, settings), settings, {
        signal: controller.signal,
        fetchImpl: this.fetchImpl,
      });
    } catch (err) {
      if (this.pending === controller) this.pending = null;
      if (err.kind === 'aborted') {
        // Superseded by a newer Tab, or cancelled because the document changed.
        if (this.pending === null) this.onStatus({ state: 'dropped', message: 'cancelled (text changed)' });
        return { action: 'dropped', reason: 'aborted' };
      }
      this.onStatus({ state: 'error', message: err.message });
      if (!force && editor.snapshot() === before) {
        await editor.normalTab(true);
        return { action: 'tab', reason: err.kind };
      }
      return { action: 'dropped', reason: err.kind };
    }
    if (this.pending === controller) this.pending = null;
    if (editor.snapshot() !== before) {
      this.onStatus({ state: 'dropped', message: 'answer dropped (text changed)' });
      return { action: 'dropped', reason: 'changed', answer };
    }
    if (answer.completion === '') {
      this.onStatus({ state: 'empty', latencyMs: answer.latencyMs });
      if (!force) await editor.normalTab(true);
      return { action: 'tab', reason: 'empty', answer };
    }
    if (settings.inline && editor.show) {
      await editor.show(answer.completion);
      this.onStatus({ state: 'ok', latencyMs: answer.latencyMs });
      return { action: 'shown', answer };
    }
    const inserted = await editor.insert(answer.completion);
    if (inserted === false) {
      this.onStatus({ state: 'dropped', message: 'editor refused the edit' });
      return { action: 'dropped', reason: 'refused', answer };
    }
    this.onStatus({ state: 'ok', latencyMs: answer.latencyMs });
    return { action: 'inserted', answer };
  }

  async _tab(editor, reason) {
    await editor.normalTab(false);
    return { action: reason === 'indent' ? 'indent' : 'tab', reason };
  }
}

module.exports = {
  CONTEXT_CHARS,
  SUFFIX_CHARS,
  STOP_MODES,
  REQUEST_OPTIONS,
  DEFAULT_SETTINGS,
  CompletionError,
  normalizeSettings,
  languageEnabled,
  onlyWhitespaceBefore,
  buildRequest,
  validateAnswer,
  requestCompletion,
  statusText,
  TabCompleter,
};
