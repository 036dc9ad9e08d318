'use strict';
// The Pulsar package, with a fake `atom` environment and a real local HTTP server.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { createPackage, EDITORS } = require('../atom/lib/package');
const { languageOf } = require('../atom/lib/adapter');
const { DEFAULT_SETTINGS, LIMITS } = require('../shared/client');
const { createFakeAtom } = require('./fake-atom');
const { startServer, closedPortUrl, answerJson, until } = require('./helpers');

const manifest = require('../atom/package.json');

function activated(fake) {
  const pkg = createPackage({ atom: fake.atom, document: fake.document });
  pkg.activate();
  pkg.consumeStatusBar(fake.statusBar);
  const tab = (name = 'tabcomplete:tab') => fake.registered[EDITORS][name](fake.tabEvent());
  return { pkg, tab, statusText: () => fake.tiles[0].item.textContent };
}

test('package.json: engines atom, status-bar service, a config schema matching the shared settings', () => {
  assert.ok(manifest.engines.atom);
  assert.equal(manifest.main, './lib/main');
  assert.equal(manifest.consumedServices['status-bar'].versions['^1.0.0'], 'consumeStatusBar');
  const schemaKeys = Object.keys(manifest.configSchema).sort();
  const sharedKeys = Object.keys(DEFAULT_SETTINGS).filter((k) => !['inline', 'requestOptions'].includes(k)).sort();
  assert.deepEqual(schemaKeys, sharedKeys);
  for (const key of schemaKeys) assert.deepEqual(manifest.configSchema[key].default, DEFAULT_SETTINGS[key], key);
});

test('keymap binds Tab in full editors (not mini ones) to tabcomplete:tab', () => {
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

test('grammar scope names map to the server\'s language ids', () => {
  assert.equal(languageOf({ scopeName: 'source.python' }), 'python');
  assert.equal(languageOf({ scopeName: 'source.js' }), 'javascript');
  assert.equal(languageOf({ scopeName: 'text.plain.null-grammar' }), 'plain');
  assert.equal(languageOf(null), '');
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
    { text: 'def add', suffix: '\n\nx = 1', language: 'python', path: '/work/example.py', max_chars: 50, stop: 'block' });
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

test('server down: editor:indent after the fact, the reason in the status tile', async () => {
  const url = await closedPortUrl();
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: url } });
  const { tab, statusText } = activated(fake);
  assert.deepEqual(await tab(), { action: 'tab', reason: 'unreachable' });
  assert.deepEqual(fake.aborted, []); // too late to hand the key on: the indent is dispatched
  assert.deepEqual(fake.dispatched, ['editor:indent']);
  assert.equal(fake.editor.text, 'x = y\t');
  assert.equal(statusText(), `tabcomplete: server not running at ${url}`);
});

test('timeout: editor:indent and "timeout" in the status tile', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const fake = createFakeAtom({ text: 'x = y', config: { serverUrl: server.url, timeoutMs: 100 } });
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
  const { getBuffer, onDidChangeCursorPosition } = fake.editor;
  fake.editor.getBuffer = () => {
    const buffer = getBuffer();
    return { ...buffer, onDidChange: (cb) => { watchers += 1; const d = buffer.onDidChange(cb); return { dispose: () => { watchers -= 1; d.dispose(); } }; } };
  };
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
