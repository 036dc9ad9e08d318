'use strict';
// The shared client: settings, request building, answer validation, HTTP with timeout and abort, and
// the Tab decision, driven through a minimal fake editor against a real local HTTP server.
const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('../shared/client');
const { startServer, closedPortUrl, answerJson, until } = require('./helpers');

const { TabCompleter, normalizeSettings, buildRequest, validateAnswer, requestCompletion, onlyWhitespaceBefore } = client;

// A document as a string and a cursor offset; every edit bumps the version, like a real editor.
function fakeEditor(text, cursor = text.length, language = 'python') {
  const ed = {
    text, cursor, language, version: 1, simple: true, tabs: [], inserts: [], shown: [],
    read() {
      const lineStart = ed.text.lastIndexOf('\n', ed.cursor - 1) + 1;
      return { linePrefix: ed.text.slice(lineStart, ed.cursor), text: ed.text.slice(0, ed.cursor),
        suffix: ed.text.slice(ed.cursor), language: ed.language, simple: ed.simple };
    },
    snapshot: () => `${ed.version}:${ed.cursor}`,
    type(s) {
      ed.text = ed.text.slice(0, ed.cursor) + s + ed.text.slice(ed.cursor);
      ed.cursor += s.length;
      ed.version += 1;
    },
    normalTab(late) { ed.tabs.push(late); ed.type('\t'); },
    insert(s) { ed.inserts.push(s); ed.type(s); return true; },
  };
  return ed;
}

test('whitespace-only line prefix means indent', () => {
  assert.equal(onlyWhitespaceBefore(''), true);
  assert.equal(onlyWhitespaceBefore('    \t'), true);
  assert.equal(onlyWhitespaceBefore('    x'), false);
});

test('settings: defaults, overrides, and a clear error naming the bad one', () => {
  const s = normalizeSettings({});
  assert.equal(s.serverUrl, 'http://127.0.0.1:8000');
  assert.equal(s.maxChars, 80);
  assert.equal(s.stop, 'line');
  assert.equal(normalizeSettings({ serverUrl: 'http://h:1/api/' }).serverUrl, 'http://h:1/api');
  assert.throws(() => normalizeSettings({ maxChars: 0 }), /maxChars must be an integer 1\.\.1000/);
  assert.throws(() => normalizeSettings({ stop: 'word' }), /stop must be one of line, block, none/);
  assert.throws(() => normalizeSettings({ serverUrl: 'not a url' }), /serverUrl is not a URL/);
  assert.throws(() => normalizeSettings({ serverUrl: 'ftp://x' }), /serverUrl must be http/);
  assert.throws(() => normalizeSettings({ timeoutMs: 1.5 }), /timeoutMs/);
  assert.throws(() => normalizeSettings({ requestOptions: { n: 3 } }), /may only hold temperature, min_prob, seed, not n/);
  assert.throws(() => normalizeSettings({ requestOptions: { temperature: 'hot' } }), /requestOptions\.temperature must be a number/);
});

test('request: last 4000 chars before the cursor, suffix, language, settings, bearer token', () => {
  const text = 'x'.repeat(5000) + 'END';
  const settings = normalizeSettings({ maxChars: 40, stop: 'block', token: 's3cret', requestOptions: { temperature: 0.5 } });
  const req = buildRequest({ text, suffix: ')\n', language: 'python' }, settings);
  const body = JSON.parse(req.body);
  assert.equal(req.url, 'http://127.0.0.1:8000/complete');
  assert.equal(req.method, 'POST');
  assert.equal(req.headers.Authorization, 'Bearer s3cret');
  assert.equal(body.text.length, 4000);
  assert.ok(body.text.endsWith('END'));
  assert.deepEqual({ ...body, text: undefined },
    { text: undefined, suffix: ')\n', language: 'python', max_chars: 40, stop: 'block', temperature: 0.5, choices: 3 });
  assert.equal(buildRequest({ text: 'a' }, normalizeSettings({})).headers.Authorization, undefined);
});

test('answer validation follows the API shape', () => {
  assert.equal(validateAnswer(answerJson('abc').json).completion, 'abc');
  assert.throws(() => validateAnswer([]), /not a JSON object/);
  assert.throws(() => validateAnswer({ ...answerJson('a').json, completion: 5 }), /"completion" is not a string/);
  assert.throws(() => validateAnswer({ ...answerJson('a').json, alternatives: [1] }), /"alternatives"/);
  assert.throws(() => validateAnswer({ ...answerJson('a').json, elapsed_ms: 'x' }), /"elapsed_ms"/);
});

test('requestCompletion talks HTTP and reports server errors by their message', async (t) => {
  const server = await startServer((req, body) => (body.text === 'bad'
    ? { status: 400, json: { error: { code: 'invalid_field', message: 'max_chars must be 1..1000' } } }
    : answerJson(body.text.toUpperCase())));
  t.after(server.close);
  const settings = normalizeSettings({ serverUrl: server.url });
  const answer = await requestCompletion(buildRequest({ text: 'abc' }, settings), settings);
  assert.equal(answer.completion, 'ABC');
  assert.equal(typeof answer.latencyMs, 'number');
  assert.equal(server.requests[0].url, '/complete');
  assert.equal(server.requests[0].headers['content-type'], 'application/json');
  await assert.rejects(requestCompletion(buildRequest({ text: 'bad' }, settings), settings),
    { kind: 'http', status: 400, message: 'server error 400: max_chars must be 1..1000' });
});

test('requestCompletion: a body that is not JSON is reported as such', async (t) => {
  const server = await startServer(() => ({ status: 502, raw: '<html>bad gateway</html>' }));
  t.after(server.close);
  const settings = normalizeSettings({ serverUrl: server.url });
  await assert.rejects(requestCompletion(buildRequest({ text: 'a' }, settings), settings),
    { kind: 'not-json', message: /answered 502 with a body that is not JSON/ });
});

test('requestCompletion: timeout and abort', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const settings = normalizeSettings({ serverUrl: server.url, timeoutMs: 150 });
  await assert.rejects(requestCompletion(buildRequest({ text: 'a' }, settings), settings),
    { kind: 'timeout', message: 'timeout after 150 ms' });
  const controller = new AbortController();
  const slow = normalizeSettings({ serverUrl: server.url, timeoutMs: 60000 });
  const pending = requestCompletion(buildRequest({ text: 'a' }, slow), slow, { signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, { kind: 'aborted' });
});

test('Tab after code inserts the answer; Tab in indentation indents without a request', async (t) => {
  const server = await startServer(() => answerJson('(a, b)'));
  t.after(server.close);
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }) });
  const ed = fakeEditor('def add');
  assert.deepEqual((await completer.onTab(ed)).action, 'inserted');
  assert.equal(ed.text, 'def add(a, b)');
  assert.deepEqual(ed.inserts, ['(a, b)']);

  const indented = fakeEditor('if x:\n    ');
  assert.equal((await completer.onTab(indented)).action, 'indent');
  assert.equal(indented.text, 'if x:\n    \t');
  assert.deepEqual(indented.tabs, [false]);
  assert.equal(server.requests.length, 1);
});

test('an answer that arrives after the user typed is dropped, and the text is left alone', async (t) => {
  let ed;
  const server = await startServer(() => {
    ed.type('s'); // the user types while the server works
    return answerJson('ys');
  });
  t.after(server.close);
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }), onStatus: (s) => statuses.push(s) });
  ed = fakeEditor('import o');
  const outcome = await completer.onTab(ed);
  assert.equal(outcome.action, 'dropped');
  assert.equal(ed.text, 'import os');
  assert.deepEqual(ed.inserts, []);
  assert.deepEqual(ed.tabs, []);
  assert.equal(statuses.at(-1).state, 'dropped');
});

test('server down: the text is left as it was, the reason in the status, nothing thrown', async () => {
  const url = await closedPortUrl();
  const statuses = [];
  const plain = new TabCompleter({ getSettings: () => ({ serverUrl: url }), onStatus: (s) => statuses.push(s) });
  const untouched = fakeEditor('x = y');
  assert.deepEqual(await plain.onTab(untouched), { action: 'none', reason: 'unreachable' });
  assert.equal(untouched.text, 'x = y');
  assert.deepEqual(untouched.tabs, []);
  statuses.length = 0;
  // fallbackTab: the normal Tab, as before.
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: url, fallbackTab: true }), onStatus: (s) => statuses.push(s) });
  const ed = fakeEditor('x = y');
  const outcome = await completer.onTab(ed);
  assert.deepEqual(outcome, { action: 'tab', reason: 'unreachable' });
  assert.equal(ed.text, 'x = y\t');
  assert.deepEqual(ed.tabs, [true]);
  assert.deepEqual(statuses.map((s) => s.state), ['waiting', 'error']);
  assert.match(statuses[1].message, /server not running at http:\/\/127\.0\.0\.1:\d+/);
});

test('timeout with fallbackTab: normal Tab if nothing changed, dropped if something did', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url, timeoutMs: 100, fallbackTab: true }),
    onStatus: (s) => statuses.push(s) });
  const ed = fakeEditor('x = y');
  assert.deepEqual(await completer.onTab(ed), { action: 'tab', reason: 'timeout' });
  assert.equal(ed.text, 'x = y\t');
  assert.equal(statuses.at(-1).message, 'timeout after 100 ms');

  const moved = fakeEditor('x = y');
  const pending = completer.onTab(moved);
  moved.type('z');
  assert.deepEqual(await pending, { action: 'dropped', reason: 'timeout' });
  assert.equal(moved.text, 'x = yz');
});

test('empty answer: the text is left as it was (fallbackTab: normal Tab); complete-now asks even in indentation and never tabs', async (t) => {
  const server = await startServer(() => answerJson(''));
  t.after(server.close);
  let settings = { serverUrl: server.url };
  const completer = new TabCompleter({ getSettings: () => settings });
  const untouched = fakeEditor('print(x)', 'print(x'.length);
  assert.equal((await completer.onTab(untouched)).reason, 'empty');
  assert.equal(untouched.text, 'print(x)');
  assert.deepEqual([untouched.tabs, untouched.inserts], [[], []]);
  settings = { serverUrl: server.url, fallbackTab: true };
  const ed = fakeEditor('x = y');
  assert.equal((await completer.onTab(ed)).reason, 'empty');
  assert.equal(ed.text, 'x = y\t');
  const blank = fakeEditor('    ');
  assert.equal((await completer.onTab(blank, { force: true })).reason, 'empty');
  assert.equal(blank.text, '    ');
  assert.equal(server.requests.length, 3);
});

test('settings: choices (0..10) and fallbackTab are checked by name', () => {
  assert.equal(normalizeSettings({}).choices, 3);
  assert.equal(normalizeSettings({}).fallbackTab, false);
  assert.equal(normalizeSettings({ choices: 0 }).choices, 0);
  assert.throws(() => normalizeSettings({ choices: 11 }), /setting choices must be an integer 0\.\.10/);
  assert.throws(() => normalizeSettings({ choices: 1.5 }), /setting choices must be an integer/);
  assert.throws(() => normalizeSettings({ fallbackTab: 'yes' }), /setting fallbackTab must be true or false/);
});

test('answer validation: choices are optional, and each must be {text: non-empty, probability in (0, 1]}', () => {
  assert.deepEqual(validateAnswer(answerJson('').json).choices, []);
  const good = [{ text: 'a', probability: 0.5 }, { text: 'b', probability: 1 }];
  assert.deepEqual(validateAnswer({ ...answerJson('').json, choices: good }).choices, good);
  for (const bad of [{}, [{ text: '', probability: 0.5 }], [{ text: 'a', probability: 0 }], [{ text: 'a', probability: 1.5 }],
    [{ text: 1, probability: 0.5 }], [null], [{ text: 'a' }]]) {
    assert.throws(() => validateAnswer({ ...answerJson('').json, choices: bad }), /"choices" is not a list of \{text, probability\}/);
  }
});

test('choices: the request asks for them, the editor gets them as menu items, picking is the editor\'s', async (t) => {
  const choices = [{ text: 'path', probability: 0.425 }, { text: 'name', probability: 0.004 }];
  const server = await startServer(() => answerJson('', { choices }));
  t.after(server.close);
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }), onStatus: (s) => statuses.push(s) });
  const ed = fakeEditor('os.');
  const menus = [];
  ed.menu = (items, snapshot) => { menus.push({ items, current: snapshot === ed.snapshot() }); };
  const outcome = await completer.onTab(ed);
  assert.equal(outcome.action, 'menu');
  assert.deepEqual(outcome.answer.choices, choices);
  assert.equal(server.requests[0].body.choices, 3);
  assert.deepEqual(menus, [{ items: [{ text: 'path', label: 'path', detail: '43%' }, { text: 'name', label: 'name', detail: '<1%' }], current: true }]);
  assert.equal(ed.text, 'os.');
  assert.equal(statuses.at(-1).state, 'choices');
  assert.equal(client.statusText(statuses.at(-1)), `tabcomplete: 2 choices (${Math.round(outcome.answer.latencyMs)} ms)`);
  // An editor without a menu: the text is left alone and the status says why.
  const plain = fakeEditor('os.');
  assert.equal((await completer.onTab(plain)).action, 'none');
  assert.equal(plain.text, 'os.');
  assert.equal(statuses.at(-1).message, 'this editor cannot show the choices');
});

test('a newer Tab supersedes the request in flight', async (t) => {
  let calls = 0;
  const server = await startServer(() => (++calls === 1 ? 'hang' : answerJson('2')));
  t.after(server.close);
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }) });
  const ed = fakeEditor('x = ');
  const first = completer.onTab(ed);
  await until(() => server.requests.length === 1);
  const second = completer.onTab(ed);
  assert.deepEqual(await first, { action: 'dropped', reason: 'aborted' });
  assert.equal((await second).action, 'inserted');
  assert.equal(ed.text, 'x = 2');
});

test('disabled, other languages and selections get the normal Tab without a request', async (t) => {
  const server = await startServer(() => answerJson('never'));
  t.after(server.close);
  let settings = { serverUrl: server.url, enabled: false };
  const completer = new TabCompleter({ getSettings: () => settings });
  assert.equal((await completer.onTab(fakeEditor('x'))).reason, 'disabled');
  settings = { serverUrl: server.url };
  assert.equal((await completer.onTab(fakeEditor('x', 1, 'rust'))).reason, 'language');
  const selected = fakeEditor('x');
  selected.simple = false;
  assert.equal((await completer.onTab(selected)).reason, 'selection');
  settings = { serverUrl: server.url, languages: ['*'] };
  assert.equal((await completer.onTab(fakeEditor('x', 1, 'rust'))).action, 'inserted');
  assert.equal(server.requests.length, 1);
});

test('by default Tab completes Python, C, JavaScript, TypeScript and Lua, each sent under its own name', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }) });
  assert.deepEqual(client.DEFAULT_SETTINGS.languages, ['python', 'c', 'javascript', 'typescript', 'lua']);
  for (const language of ['python', 'c', 'javascript', 'typescript', 'lua']) {
    assert.equal((await completer.onTab(fakeEditor('x = y', 5, language))).action, 'inserted', language);
    assert.equal(server.requests.at(-1).body.language, language);
  }
  for (const language of ['rust', 'cpp', 'typescriptreact', 'plaintext', '']) {
    const ed = fakeEditor('x = y', 5, language);
    assert.deepEqual(await completer.onTab(ed), { action: 'tab', reason: 'language' }, language);
    assert.equal(ed.text, 'x = y\t'); // the editor's own Tab
  }
  assert.equal(server.requests.length, 5);
});

test('serverLanguage: the editors\' ids for a language -> the names the server\'s models go by', () => {
  const { serverLanguage } = client;
  // VS Code languageIds and Neovim filetypes
  for (const id of ['python', 'c', 'javascript', 'typescript', 'lua', 'rust', 'cpp', 'typescriptreact']) {
    assert.equal(serverLanguage(id, '/p/file'), id);
  }
  assert.equal(serverLanguage('javascriptreact', '/p/App.jsx'), 'javascript');
  // A .h file is C wherever the editor calls it cpp; other C++ files stay C++.
  assert.equal(serverLanguage('cpp', '/p/include/list.h'), 'c');
  assert.equal(serverLanguage('c', '/p/include/list.h'), 'c');
  for (const file of ['/p/list.hpp', '/p/list.cpp', '/p/list.H', '/p/h', '']) assert.equal(serverLanguage('cpp', file), 'cpp', file);
  // Pulsar's grammar scopes without 'source.'
  assert.deepEqual(['js', 'ts', 'py', 'c++', 'shell'].map((id) => serverLanguage(id)),
    ['javascript', 'typescript', 'python', 'cpp', 'shellscript']);
  assert.equal(serverLanguage(undefined), '');
});

test('a bad setting shows in the status and Tab still works', async () => {
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({ maxChars: 5000 }), onStatus: (s) => statuses.push(s) });
  const ed = fakeEditor('x');
  assert.deepEqual(await completer.onTab(ed), { action: 'tab', reason: 'settings' });
  assert.equal(ed.text, 'x\t');
  assert.match(statuses[0].message, /maxChars must be an integer 1\.\.1000/);
});

test('an editor that throws does not throw into the editor', async () => {
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({}), onStatus: (s) => statuses.push(s) });
  const ed = fakeEditor('    ');
  ed.normalTab = () => { throw new Error('boom'); };
  assert.deepEqual(await completer.onTab(ed), { action: 'error', reason: 'boom' });
  assert.equal(statuses[0].message, 'internal error: boom');
});

test('files: the adapter\'s open documents go through selectFiles with the filesBudget setting', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  let settings = { serverUrl: server.url };
  const completer = new TabCompleter({ getSettings: () => settings });
  const ed = fakeEditor('x = ');
  ed.path = '/p/main.py';
  const read = ed.read;
  ed.read = () => ({ ...read(), path: ed.path });
  ed.files = () => [
    { path: '/p/main.py', language: 'python', text: 'x = ', used: 3 },
    { path: '/p/a.py', language: 'python', text: 'a'.repeat(10), used: 1 },
    { path: '/p/b.py', language: 'python', text: 'b'.repeat(10), used: 2 },
  ];
  await completer.onTab(ed);
  assert.equal(server.requests[0].body.path, '/p/main.py');
  assert.deepEqual(server.requests[0].body.files.map((f) => f.path), ['/p/b.py', '/p/a.py']);
  settings = { serverUrl: server.url, filesBudget: 15 };
  await completer.onTab(ed);
  assert.deepEqual(server.requests[1].body.files.map((f) => f.path), ['/p/b.py']);
  settings = { serverUrl: server.url, filesBudget: 0 };
  await completer.onTab(ed);
  assert.equal('files' in server.requests[2].body, false);
  assert.throws(() => normalizeSettings({ filesBudget: -1 }), /filesBudget must be an integer 0\.\.512000/);
});

test('the status shows the round trip the user waited, not the server\'s elapsed_ms', async (t) => {
  const server = await startServer(() => answerJson('x', { elapsed_ms: 987654 }));
  t.after(server.close);
  const statuses = [];
  const completer = new TabCompleter({ getSettings: () => ({ serverUrl: server.url }), onStatus: (s) => statuses.push(s) });
  const outcome = await completer.onTab(fakeEditor('x = '));
  assert.equal(statuses.at(-1).ms, outcome.answer.latencyMs);
  assert.notEqual(client.statusText(statuses.at(-1)), 'tabcomplete 987654 ms');
});
