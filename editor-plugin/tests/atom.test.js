'use strict';
// The Pulsar package, with a fake `atom` environment around Pulsar's real TextBuffer, and a real local HTTP server.
const nodeTest = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { createPackage, EDITORS } = require('../atom/lib/package');
const { languageOf } = require('../atom/lib/adapter');
const { DEFAULT_SETTINGS, LIMITS } = require('../shared/client');
const { createFakeAtom, TextBuffer, TEXT_BUFFER_MISSING } = require('./fake-atom');

// The tests of an editor need the real TextBuffer (a devDependency of editor-plugin/atom); without it they skip, saying why.
const test = (name, fn) => nodeTest(name, { skip: TEXT_BUFFER_MISSING }, fn);
const { startServer, closedPortUrl, answerJson, until, runFlowCase } = require('./helpers');
const table = require('../shared/tab-cases.json');

const manifest = require('../atom/package.json');

function activated(fake) {
  const pkg = createPackage({ atom: fake.atom, document: fake.document });
  pkg.activate();
  pkg.consumeStatusBar(fake.statusBar);
  fake.autocomplete.providers.push(pkg.provideAutocomplete()); // autocomplete-plus consumes the service
  const tab = (name = 'tabcomplete:tab') => fake.registered[EDITORS][name](fake.tabEvent());
  return { pkg, tab, statusText: () => fake.tiles[0].item.textContent };
}

nodeTest('package.json: engines atom, status-bar service, a config schema matching the shared settings', () => {
  assert.ok(manifest.engines.atom);
  assert.equal(manifest.main, './lib/main');
  assert.equal(manifest.consumedServices['status-bar'].versions['^1.0.0'], 'consumeStatusBar');
  const schemaKeys = Object.keys(manifest.configSchema).sort();
  const sharedKeys = Object.keys(DEFAULT_SETTINGS).filter((k) => !['inline', 'requestOptions'].includes(k)).sort();
  assert.deepEqual(schemaKeys, sharedKeys);
  for (const key of schemaKeys) assert.deepEqual(manifest.configSchema[key].default, DEFAULT_SETTINGS[key], key);
});

nodeTest('keymap binds Tab in full editors (not mini ones) to tabcomplete:tab', () => {
  const keymap = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'atom', 'keymaps', 'tabcomplete.json'), 'utf8'));
  assert.deepEqual(keymap, { 'atom-text-editor:not([mini])': { tab: 'tabcomplete:tab' } });
});

test('activate registers the commands on full editors; the status tile shows state', () => {
  const fake = createFakeAtom();
  activated(fake);
  assert.deepEqual(Object.keys(fake.registered[EDITORS]).sort(), ['tabcomplete:complete-now', 'tabcomplete:tab', 'tabcomplete:toggle']);
  assert.equal(fake.tiles.length, 1);
  assert.equal(fake.tiles[0].item.textContent, 'tabcomplete');
});

nodeTest('grammar scope names map to the server\'s language ids', () => {
  const scopes = { 'source.python': 'python', 'source.c': 'c', 'source.js': 'javascript', 'source.js.jsx': 'javascript',
    'source.ts': 'typescript', 'source.lua': 'lua', 'source.cpp': 'cpp', 'source.tsx': 'tsx', 'source.rust': 'rust',
    'text.plain.null-grammar': 'plain' };
  for (const [scopeName, language] of Object.entries(scopes)) assert.equal(languageOf({ scopeName }, '/p/file'), language, scopeName);
  assert.equal(languageOf({ scopeName: 'source.cpp' }, '/p/list.h'), 'c'); // a C header in a C++ grammar is C
  assert.equal(languageOf({ scopeName: 'source.cpp' }, '/p/list.hpp'), 'cpp');
  assert.equal(languageOf(null), '');
});

test('by default C, JavaScript, TypeScript and Lua editors are completed under the server\'s names; Rust is not', async (t) => {
  const server = await startServer(() => answerJson('s'));
  t.after(server.close);
  const completed = { 'source.c': 'c', 'source.js': 'javascript', 'source.js.jsx': 'javascript', 'source.ts': 'typescript',
    'source.lua': 'lua', 'source.python': 'python' };
  for (const [scopeName, language] of Object.entries(completed)) {
    const fake = createFakeAtom({ text: 'x = y', scopeName, path: '/work/file', config: { serverUrl: server.url } });
    const { tab } = activated(fake);
    assert.equal((await tab()).action, 'inserted', scopeName);
    assert.equal(server.requests.at(-1).body.language, language, scopeName);
  }
  for (const scopeName of ['source.rust', 'source.cpp', 'text.plain.null-grammar']) {
    const fake = createFakeAtom({ text: 'x = y', scopeName, path: '/work/file', config: { serverUrl: server.url } });
    const { tab } = activated(fake);
    assert.deepEqual(await tab(), { action: 'tab', reason: 'language' }, scopeName);
    assert.equal(fake.aborted.length, 1, scopeName); // Tab went on to Pulsar's own binding
  }
  assert.equal(server.requests.length, Object.keys(completed).length);
});

test('Tab after code: the answer goes in inside one transaction (one undo step), as answered', async (t) => {
  const server = await startServer(() => answerJson('(a, b):\n    return a'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'def add\n\nx = 1', config: { serverUrl: server.url, stop: 'block', maxChars: 50 } });
  fake.editor.moveCursor('def add'.length);
  const { tab, statusText } = activated(fake);
  const outcome = await tab();
  assert.equal(outcome.action, 'inserted');
  assert.equal(fake.editor.text, 'def add(a, b):\n    return a\n\nx = 1');
  assert.equal(fake.transactions.length, 1);
  assert.deepEqual(fake.transactions[0], [{ text: '(a, b):\n    return a',
    options: { autoIndent: false, autoIndentNewline: false, autoDecreaseIndent: false } }]);
  assert.deepEqual(server.requests[0].body,
    { text: 'def add', suffix: '\n\nx = 1', language: 'python', path: '/work/example.py', max_chars: 50, stop: 'block', choices: 3 });
  assert.match(statusText(), /^tabcomplete \d+ ms$/);
});

test('Tab in indentation hands the key on (abortKeyBinding) and sends nothing', async (t) => {
  const server = await startServer(() => answerJson('never'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'if x:\n    ', config: { serverUrl: server.url } });
  const { tab } = activated(fake);
  assert.equal((await tab()).action, 'indent');
  assert.deepEqual(fake.aborted, [true]);
  assert.equal(fake.editor.text, 'if x:\n    \t');
  assert.equal(server.requests.length, 0);
});

test('multiple cursors get the normal Tab', async () => {
  const fake = createFakeAtom({ text: 'x = y' });
  fake.editor.setMultipleCursors(true);
  const { tab } = activated(fake);
  assert.deepEqual(await tab(), { action: 'tab', reason: 'selection' });
  assert.deepEqual(fake.aborted, [true]);
});

test('an answer that arrives after the user typed or moved is dropped', async (t) => {
  let fake;
  const server = await startServer(() => {
    fake.editor.moveCursor(0); // the user clicks elsewhere while the server works
    return answerJson('s');
  });
  t.after(server.close);
  fake = createFakeAtom({ text: 'import o', config: { serverUrl: server.url } });
  const { tab, statusText } = activated(fake);
  assert.equal((await tab()).action, 'dropped');
  assert.equal(fake.editor.text, 'import o');
  assert.equal(fake.transactions.length, 0);
  assert.equal(statusText(), 'tabcomplete: answer dropped (text changed)');
});

test('server down: the text is left as it was, the reason in the status tile', async () => {
  const url = await closedPortUrl();
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: url } });
  const { tab, statusText } = activated(fake);
  assert.deepEqual(await tab(), { action: 'none', reason: 'unreachable' });
  assert.deepEqual(fake.aborted, []);
  assert.deepEqual(fake.dispatched, []);
  assert.equal(fake.editor.text, 'x = y');
  assert.equal(statusText(), `tabcomplete: server not running at ${url}`);
});

test('server down with fallbackTab: editor:indent after the fact, the reason in the status tile', async () => {
  const url = await closedPortUrl();
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: url, fallbackTab: true } });
  const { tab, statusText } = activated(fake);
  assert.deepEqual(await tab(), { action: 'tab', reason: 'unreachable' });
  assert.deepEqual(fake.aborted, []); // too late to hand the key on: the indent is dispatched
  assert.deepEqual(fake.dispatched, ['editor:indent']);
  assert.equal(fake.editor.text, 'x = y\t');
  assert.equal(statusText(), `tabcomplete: server not running at ${url}`);
});

test('timeout with fallbackTab: editor:indent and "timeout" in the status tile', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: server.url, timeoutMs: 100, fallbackTab: true } });
  const { tab, statusText } = activated(fake);
  assert.deepEqual(await tab(), { action: 'tab', reason: 'timeout' });
  assert.equal(fake.editor.text, 'x = y\t');
  assert.equal(statusText(), 'tabcomplete: timeout after 100 ms');
});

test('settings are read from atom.config on every Tab, token included', async (t) => {
  const server = await startServer(() => answerJson('1'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'a = ', config: { serverUrl: server.url, token: 'tok', maxChars: 9 } });
  const { tab } = activated(fake);
  await tab();
  fake.configValues.stop = 'none';
  await tab();
  assert.equal(server.requests[0].headers.authorization, 'Bearer tok');
  assert.deepEqual(server.requests.map((r) => [r.body.max_chars, r.body.stop]), [[9, 'line'], [9, 'none']]);
});

test('toggle and a click on the status tile turn it off and on', async (t) => {
  const server = await startServer(() => answerJson('never'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: server.url } });
  const { tab, statusText } = activated(fake);
  fake.registered[EDITORS]['tabcomplete:toggle']();
  assert.equal(fake.configValues.enabled, false);
  assert.equal(statusText(), 'tabcomplete off');
  assert.deepEqual(await tab(), { action: 'tab', reason: 'disabled' });
  assert.equal(server.requests.length, 0);
  fake.tiles[0].item.click();
  assert.equal(fake.configValues.enabled, true);
  assert.equal(statusText(), 'tabcomplete');
});

test('change watchers are disposed after each Tab', async (t) => {
  const server = await startServer(() => answerJson('s'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'import o', config: { serverUrl: server.url } });
  let watchers = 0;
  const { onDidChangeCursorPosition } = fake.editor;
  const buffer = fake.editor.getBuffer();
  const onDidChange = buffer.onDidChange.bind(buffer);
  buffer.onDidChange = (cb) => { watchers += 1; const d = onDidChange(cb); return { dispose: () => { watchers -= 1; d.dispose(); } }; };
  fake.editor.onDidChangeCursorPosition = (cb) => {
    watchers += 1;
    const d = onDidChangeCursorPosition(cb);
    return { dispose: () => { watchers -= 1; d.dispose(); } };
  };
  const { tab } = activated(fake);
  const pending = tab();
  await until(() => watchers === 2);
  await pending;
  assert.equal(watchers, 0);
});

test('deactivate removes the commands', () => {
  const fake = createFakeAtom();
  const { pkg } = activated(fake);
  pkg.deactivate();
  assert.equal(fake.registered[EDITORS], undefined);
});

test('files: the other open editors of the language, most recently active first, within filesBudget', async (t) => {
  const server = await startServer(() => answerJson('s'));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'import o', config: { serverUrl: server.url } });
  const { tab } = activated(fake);
  const util = fake.openEditor({ path: '/work/util.py', text: 'def util(): pass\n' });
  fake.openEditor({ path: '/work/style.css', scopeName: 'source.css', text: 'a {}' });
  fake.openEditor({ text: 'untitled = 1' });
  fake.openEditor({ path: '/work/models.py', text: 'class M: pass\n' });
  fake.openEditor({ path: '/work/example.py', text: 'import o' }); // the same file in a second pane
  fake.activate(util);
  fake.activate(fake.editor);
  await tab();
  assert.equal(server.requests[0].body.path, '/work/example.py');
  assert.deepEqual(server.requests[0].body.files,
    [{ path: '/work/util.py', text: 'def util(): pass\n' }, { path: '/work/models.py', text: 'class M: pass\n' }]);
  fake.configValues.filesBudget = 20; // util.py (17) fits, models.py (14) no longer does
  await tab();
  assert.deepEqual(server.requests[1].body.files.map((f) => f.path), ['/work/util.py']);
  fake.configValues.filesBudget = 0;
  await tab();
  assert.equal('files' in server.requests[2].body, false);
});

nodeTest('package.json provides autocomplete.provider 4.0.0 (the choices menu)', () => {
  assert.equal(manifest.providedServices['autocomplete.provider'].versions['4.0.0'], 'provideAutocomplete');
});

const CHOICES = [{ text: 'path.', probability: 0.42 }, { text: 'name', probability: 0.2 }];

test('choices: autocomplete-plus lists them in the server\'s order with their probabilities; confirming one is one transaction', async (t) => {
  const server = await startServer(() => answerJson('', { choices: CHOICES }));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'os.\nx = 1', config: { serverUrl: server.url } });
  fake.editor.moveCursor('os.'.length);
  const { tab, statusText } = activated(fake);
  assert.equal((await tab()).action, 'menu');
  assert.equal(server.requests[0].body.choices, 3);
  assert.deepEqual(fake.dispatched, ['autocomplete-plus:activate']);
  assert.deepEqual(fake.autocomplete.items.map((s) => [s.displayText, s.rightLabel, s.text, s.replacementPrefix]),
    [['path.', '42%', 'path.', ''], ['name', '20%', 'name', '']]);
  assert.equal(fake.editor.text, 'os.\nx = 1');
  assert.match(statusText(), /^tabcomplete: 2 choices \(\d+ ms\)$/);
  fake.confirmSuggestion(1);
  assert.equal(fake.editor.text, 'os.name\nx = 1');
  assert.equal(fake.transactions.length, 1);
  // Confirmed: the provider offers them no more.
  assert.deepEqual(fake.autocomplete.providers[0].getSuggestions({ editor: fake.editor }), []);
});

test('choices: typing or moving the cursor takes them off the list', async (t) => {
  const server = await startServer(() => answerJson('', { choices: CHOICES }));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'os.', config: { serverUrl: server.url } });
  const { tab } = activated(fake);
  const [provider] = fake.autocomplete.providers;
  assert.equal((await tab()).action, 'menu');
  assert.equal(provider.getSuggestions({ editor: fake.editor }).length, 2);
  fake.editor.type('p'); // autocomplete-plus asks again as the user types: nothing from us
  assert.deepEqual(provider.getSuggestions({ editor: fake.editor }), []);
  assert.equal((await tab()).action, 'menu');
  fake.editor.moveCursor(0);
  assert.deepEqual(provider.getSuggestions({ editor: fake.editor }), []);
});

test('choices without autocomplete-plus: the text is left alone and the status says why', async (t) => {
  const server = await startServer(() => answerJson('', { choices: CHOICES }));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'os.', config: { serverUrl: server.url } });
  fake.autocomplete.active = false;
  const { tab, statusText } = activated(fake);
  assert.equal((await tab()).action, 'none');
  assert.equal(fake.editor.text, 'os.');
  assert.equal(statusText(), 'tabcomplete: this editor cannot show the choices');
});

test('nothing to offer: the text is left byte for byte as it was, and the status tile says so', async (t) => {
  const server = await startServer(() => answerJson('', { choices: [] }));
  t.after(server.close);
  const fake = createFakeAtom({ text: 'self.\n', config: { serverUrl: server.url } });
  fake.editor.moveCursor('self.'.length);
  const { tab, statusText } = activated(fake);
  const outcome = await tab();
  assert.deepEqual([outcome.action, outcome.reason], ['none', 'empty']);
  assert.equal(fake.editor.text, 'self.\n');
  assert.deepEqual([fake.transactions, fake.dispatched, fake.aborted], [[], [], []]);
  assert.match(statusText(), /^tabcomplete: no completion \(\d+ ms\)$/);
});

// The shared table's flow cases through this package, its autocomplete-plus provider and the fake Pulsar.
for (const c of table.flow.cases) {
  test(`flow: ${c.name}`, async () => {
    const result = await runFlowCase({ ...c, input: { ...table.flow.defaults, ...c.input } }, ({ text, cursor, settings }) => {
      const fake = createFakeAtom({ text, config: settings });
      fake.editor.moveCursor(cursor);
      const { tab, statusText } = activated(fake);
      return {
        type: (s) => fake.editor.type(s),
        tab,
        state: () => ({ text: fake.editor.text, cursor: fake.editor.cursorOffset() }),
        menu: () => fake.autocomplete.items && fake.autocomplete.items.map((s) => ({ label: s.displayText, detail: s.rightLabel })),
        pick: (i) => fake.confirmSuggestion(i),
        dismiss: () => { fake.autocomplete.items = null; },
        status: statusText,
      };
    });
    assert.deepEqual(result, c.expect);
  });
}

test('the editors hold Pulsar\'s real TextBuffer: an insertion and a confirmed choice are each one undo step', async (t) => {
  let answer = answerJson('(a, b):');
  const server = await startServer(() => answer);
  t.after(server.close);
  const fake = createFakeAtom({ text: 'def add\nx = 1', config: { serverUrl: server.url } });
  assert.ok(fake.editor.getBuffer() instanceof TextBuffer);
  fake.editor.moveCursor('def add'.length);
  const { tab } = activated(fake);
  assert.equal((await tab()).action, 'inserted');
  assert.equal(fake.editor.text, 'def add(a, b):\nx = 1');
  fake.editor.type('!');
  fake.editor.undo(); // the "!"
  assert.equal(fake.editor.text, 'def add(a, b):\nx = 1');
  fake.editor.undo(); // the completion, in one step
  assert.equal(fake.editor.text, 'def add\nx = 1');

  answer = answerJson('', { choices: CHOICES });
  fake.editor.moveCursor('def add'.length);
  assert.equal((await tab()).action, 'menu');
  fake.confirmSuggestion(0);
  assert.equal(fake.editor.text, 'def addpath.\nx = 1');
  fake.editor.undo();
  assert.equal(fake.editor.text, 'def add\nx = 1');
});
