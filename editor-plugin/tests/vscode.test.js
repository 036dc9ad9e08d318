'use strict';
// The VS Code adapter and activate(), with a fake `vscode` module and a real local HTTP server.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { createExtension } = require('../vscode/lib/extension');
const { DEFAULT_SETTINGS, LIMITS } = require('../shared/client');
const { createFakeVscode } = require('./fake-vscode');
const { startServer, closedPortUrl, answerJson, until, runFlowCase } = require('./helpers');
const table = require('../shared/tab-cases.json');

const manifest = require('../vscode/package.json');

async function activated(fake) {
  const extension = createExtension(fake.vscode);
  const context = { subscriptions: [] };
  await extension.activate(context);
  return { extension, context, run: (id) => fake.vscode.commands.executeCommand(id) };
}

test('manifest: Tab keybinding leaves suggest widget, snippets and inline suggestions alone', () => {
  const [binding] = manifest.contributes.keybindings;
  assert.equal(binding.key, 'tab');
  assert.equal(binding.command, 'tabcomplete.tab');
  for (const term of ['tabcomplete.active', 'editorTextFocus', '!editorReadonly', '!suggestWidgetVisible', '!inSnippetMode',
    '!inlineSuggestionVisible', '!editorTabMovesFocus', '!editorHasSelection', '!editorHasMultipleSelections']) {
    assert.ok(binding.when.split(' && ').includes(term), `when clause lacks ${term}`);
  }
  assert.equal(manifest.main, './extension.js');
  assert.ok(manifest.devDependencies['@vscode/vsce'].match(/^\d+\.\d+\.\d+$/), '@vscode/vsce is pinned');
});

test('manifest: one setting per shared setting, with the shared defaults', () => {
  const props = manifest.contributes.configuration.properties;
  assert.deepEqual(Object.keys(props).sort(), Object.keys(DEFAULT_SETTINGS).map((k) => `tabcomplete.${k}`).sort());
  for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
    assert.deepEqual(props[`tabcomplete.${key}`].default, value, key);
  }
  const commands = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(commands, ['tabcomplete.completeNow', 'tabcomplete.toggle']);
});

test('activate registers the commands, shows the status bar and sets the context key', async () => {
  const fake = createFakeVscode({ text: 'x' });
  const { context } = await activated(fake);
  assert.deepEqual([...fake.commands.keys()].sort(), ['tabcomplete.completeNow', 'tabcomplete.tab', 'tabcomplete.toggle']);
  assert.equal(fake.vscode.window.statusItem.shown, true);
  assert.equal(fake.vscode.window.statusItem.command, 'tabcomplete.toggle');
  assert.equal(fake.context['tabcomplete.active'], true);
  assert.equal(fake.providers.length, 1);
  assert.ok(context.subscriptions.length >= 5);

  const plain = createFakeVscode({ text: 'x', language: 'plaintext' });
  await activated(plain);
  assert.equal(plain.context['tabcomplete.active'], false);
});

test('Tab after code: the answer goes in at the cursor as one edit with undo stops on both sides', async (t) => {
  const server = await startServer(() => answerJson('(a, b):'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'def add\nprint(1)', config: { 'tabcomplete.serverUrl': server.url } });
  fake.editor.moveCursor('def add'.length);
  const { run } = await activated(fake);
  const outcome = await run('tabcomplete.tab');
  assert.equal(outcome.action, 'inserted');
  assert.equal(fake.editor.text, 'def add(a, b):\nprint(1)');
  assert.deepEqual(fake.edits, [{ inserts: ['(a, b):'], options: { undoStopBefore: true, undoStopAfter: true } }]);
  assert.deepEqual(server.requests[0].body,
    { text: 'def add', suffix: '\nprint(1)', language: 'python', path: '/work/example.py', max_chars: 80, stop: 'line', choices: 3 });
  assert.match(fake.vscode.window.statusItem.text, /^\$\(check\) tabcomplete \d+ ms$/);
});

test('settings are read from the configuration on every Tab', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'a = ', config: {
    'tabcomplete.serverUrl': server.url, 'tabcomplete.maxChars': 12, 'tabcomplete.stop': 'block', 'tabcomplete.token': 'tok' } });
  const { run } = await activated(fake);
  await run('tabcomplete.tab');
  fake.settings['tabcomplete.maxChars'] = 7;
  await run('tabcomplete.tab');
  assert.equal(server.requests[0].headers.authorization, 'Bearer tok');
  assert.equal(server.requests[0].body.stop, 'block');
  assert.deepEqual(server.requests.map((r) => r.body.max_chars), [12, 7]);
});

test('Tab in indentation runs the normal tab command and sends nothing', async (t) => {
  const server = await startServer(() => answerJson('never'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'if x:\n    ', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  assert.equal((await run('tabcomplete.tab')).action, 'indent');
  assert.equal(fake.editor.text, 'if x:\n    \t');
  assert.ok(fake.executed.includes('tab'));
  assert.equal(server.requests.length, 0);
  assert.deepEqual(fake.edits, []);
});

test('typing while the server works drops the answer and keeps what was typed', async (t) => {
  let fake;
  const server = await startServer(() => {
    fake.editor.type('s');
    return answerJson('ys.path');
  });
  t.after(server.close);
  fake = createFakeVscode({ text: 'import o', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  const outcome = await run('tabcomplete.tab');
  assert.equal(outcome.action, 'dropped');
  assert.equal(fake.editor.text, 'import os');
  assert.deepEqual(fake.edits, []);
  assert.ok(!fake.executed.includes('tab'));
});

test('typing cancels a request still in flight', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const fake = createFakeVscode({ text: 'import o', config: { 'tabcomplete.serverUrl': server.url, 'tabcomplete.timeoutMs': 60000 } });
  const { run } = await activated(fake);
  const pending = run('tabcomplete.tab');
  await until(() => server.requests.length === 1);
  fake.editor.type('s');
  assert.deepEqual(await pending, { action: 'dropped', reason: 'aborted' });
  assert.equal(fake.editor.text, 'import os');
  assert.match(fake.vscode.window.statusItem.text, /cancelled \(text changed\)/);
});

test('server down: the text is left as it was, the reason in the status bar; fallbackTab types the normal Tab', async () => {
  const url = await closedPortUrl();
  const fake = createFakeVscode({ text: 'x = y', config: { 'tabcomplete.serverUrl': url } });
  const { run } = await activated(fake);
  assert.deepEqual(await run('tabcomplete.tab'), { action: 'none', reason: 'unreachable' });
  assert.equal(fake.editor.text, 'x = y');
  assert.ok(!fake.executed.includes('tab'));
  assert.equal(fake.vscode.window.statusItem.text, `$(warning) tabcomplete: server not running at ${url}`);
  fake.settings['tabcomplete.fallbackTab'] = true;
  assert.deepEqual(await run('tabcomplete.tab'), { action: 'tab', reason: 'unreachable' });
  assert.equal(fake.editor.text, 'x = y\t');
  assert.equal(fake.vscode.window.statusItem.text, `$(warning) tabcomplete: server not running at ${url}`);
});

test('timeout with fallbackTab: normal Tab and "timeout" in the status bar', async (t) => {
  const server = await startServer(() => 'hang');
  t.after(server.close);
  const fake = createFakeVscode({ text: 'x = y', config: { 'tabcomplete.serverUrl': server.url, 'tabcomplete.timeoutMs': 100,
    'tabcomplete.fallbackTab': true } });
  const { run } = await activated(fake);
  assert.deepEqual(await run('tabcomplete.tab'), { action: 'tab', reason: 'timeout' });
  assert.equal(fake.editor.text, 'x = y\t');
  assert.match(fake.vscode.window.statusItem.text, /timeout after 100 ms/);
});

test('inline mode: Tab shows ghost text, the document is untouched until accepted', async (t) => {
  const server = await startServer(() => answerJson('(a, b)'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'def add', config: { 'tabcomplete.serverUrl': server.url, 'tabcomplete.inline': true } });
  const { run } = await activated(fake);
  assert.equal((await run('tabcomplete.tab')).action, 'shown');
  assert.equal(fake.editor.text, 'def add');
  assert.ok(fake.executed.includes('editor.action.inlineSuggest.trigger'));
  const [provider] = fake.providers;
  const cursor = fake.editor.selection.active;
  const items = provider.provideInlineCompletionItems(fake.document, cursor);
  assert.equal(items.length, 1);
  assert.equal(items[0].insertText, '(a, b)');
  fake.editor.type('x'); // the suggestion is for where Tab was pressed; after typing it is gone
  assert.deepEqual(provider.provideInlineCompletionItems(fake.document, fake.editor.selection.active), []);
});

test('toggle turns completion off (context key false, status "off") and on again', async () => {
  const fake = createFakeVscode({ text: 'x' });
  const { run } = await activated(fake);
  assert.equal(await run('tabcomplete.toggle'), false);
  assert.equal(fake.settings['tabcomplete.enabled'], false);
  assert.equal(fake.context['tabcomplete.active'], false);
  assert.match(fake.vscode.window.statusItem.text, /tabcomplete off/);
  assert.equal(await run('tabcomplete.toggle'), true);
  assert.equal(fake.context['tabcomplete.active'], true);
});

test('complete-now asks even in indentation and never types a Tab', async (t) => {
  const server = await startServer(() => answerJson('return 1'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'def f():\n    ', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  assert.equal((await run('tabcomplete.completeNow')).action, 'inserted');
  assert.equal(fake.editor.text, 'def f():\n    return 1');
});

test('extension.js is only the entry point: it loads lib/extension with the real vscode module', () => {
  const source = require('fs').readFileSync(path.join(__dirname, '..', 'vscode', 'extension.js'), 'utf8');
  assert.match(source, /require\('vscode'\)/);
  assert.match(source, /createExtension\(vscode\)/);
});

test('files: the other open documents of the language, most recently used first, never the current one', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'import o', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  const util = fake.openEditor({ path: '/work/util.py', text: 'def util():\n    pass\n' });
  fake.openEditor({ path: '/work/README.md', language: 'markdown', text: '# readme' });
  fake.openEditor({ path: 'untitled:Untitled-1', text: 'scratch = 1' });
  fake.loadWithoutTab({ path: '/work/loaded.py', text: 'no tab' });
  fake.openEditor({ path: '/work/models.py', text: 'class M: pass\n' });
  const gone = fake.openEditor({ path: '/work/gone.py', text: 'closed' });
  fake.close(gone);
  fake.activate(util); // util.py is now more recent than models.py
  fake.activate(fake.editor);
  await run('tabcomplete.tab');
  const { path, files } = server.requests[0].body;
  assert.equal(path, '/work/example.py');
  assert.deepEqual(files, [{ path: '/work/util.py', text: 'def util():\n    pass\n' }, { path: '/work/models.py', text: 'class M: pass\n' }]);
});

test('files: bounded by the filesBudget setting (characters) and by count; 0 sends none', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'x = ', config: { 'tabcomplete.serverUrl': server.url, 'tabcomplete.filesBudget': 25 } });
  const { run } = await activated(fake);
  for (let i = 0; i < LIMITS.files_max + 3; i += 1) fake.openEditor({ path: `/work/f${i}.py`, text: `f${i}` });
  fake.openEditor({ path: '/work/big.py', text: 'b'.repeat(26) });
  fake.activate(fake.editor);
  await run('tabcomplete.tab');
  // big.py (26 characters) does not fit 25; f18..f11 (3 characters each) do, f10 and f0..f9 (2) no longer.
  assert.deepEqual(server.requests[0].body.files.map((f) => f.path),
    ['/work/f18.py', '/work/f17.py', '/work/f16.py', '/work/f15.py', '/work/f14.py', '/work/f13.py', '/work/f12.py', '/work/f11.py']);
  fake.settings['tabcomplete.filesBudget'] = 1000;
  await run('tabcomplete.tab');
  assert.equal(server.requests[1].body.files.length, LIMITS.files_max);
  assert.deepEqual(server.requests[1].body.files.slice(0, 2).map((f) => f.path), ['/work/big.py', '/work/f18.py']);
  fake.settings['tabcomplete.filesBudget'] = 0;
  await run('tabcomplete.tab');
  assert.equal('files' in server.requests[2].body, false);
});

test('by default C, JavaScript (and JSX), TypeScript, Lua and .h files are completed under the server\'s names', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const config = { 'tabcomplete.serverUrl': server.url };
  const completed = [['/work/a.py', 'python', 'python'], ['/work/main.c', 'c', 'c'], ['/work/list.h', 'cpp', 'c'],
    ['/work/app.js', 'javascript', 'javascript'], ['/work/App.jsx', 'javascriptreact', 'javascript'],
    ['/work/app.ts', 'typescript', 'typescript'], ['/work/init.lua', 'lua', 'lua']];
  for (const [file, languageId, sent] of completed) {
    const fake = createFakeVscode({ text: 'x = y', language: languageId, path: file, config });
    const { run } = await activated(fake);
    assert.equal(fake.context['tabcomplete.active'], true, file); // the Tab keybinding fires here
    assert.equal((await run('tabcomplete.tab')).action, 'inserted', file);
    assert.equal(server.requests.at(-1).body.language, sent, file);
  }
  for (const [file, languageId] of [['/work/main.rs', 'rust'], ['/work/list.cpp', 'cpp'], ['/work/App.tsx', 'typescriptreact']]) {
    const fake = createFakeVscode({ text: 'x = y', language: languageId, path: file, config });
    const { run } = await activated(fake);
    assert.equal(fake.context['tabcomplete.active'], false, file); // VS Code's own Tab
    assert.deepEqual(await run('tabcomplete.tab'), { action: 'tab', reason: 'language' }, file);
  }
  assert.equal(server.requests.length, completed.length);
  // A C file's `files` are the other C documents, its headers among them.
  const fake = createFakeVscode({ text: 'x = y', language: 'c', path: '/work/main.c', config });
  const { run } = await activated(fake);
  fake.openEditor({ path: '/work/list.h', language: 'cpp', text: 'int len(void);' });
  fake.openEditor({ path: '/work/list.cpp', language: 'cpp', text: 'int len() { return 0; }' });
  fake.openEditor({ path: '/work/util.c', language: 'c', text: 'int util(void);' });
  fake.activate(fake.editor);
  await run('tabcomplete.tab');
  assert.deepEqual(server.requests.at(-1).body.files.map((f) => f.path), ['/work/util.c', '/work/list.h']);
});

test('an untitled document sends no path', async (t) => {
  const server = await startServer(() => answerJson('x'));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'x = ', path: 'untitled:Untitled-1', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  await run('tabcomplete.tab');
  assert.deepEqual(server.requests[0].body, { text: 'x = ', suffix: '', language: 'python', max_chars: 80, stop: 'line', choices: 3 });
});

const CHOICES = [{ text: 'path.', probability: 0.42 }, { text: 'name', probability: 0.2 }];

test('choices: the suggest widget shows them in the server\'s order with their probabilities; accepting one is one edit', async (t) => {
  const server = await startServer(() => answerJson('', { choices: CHOICES }));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'os.\nx = 1', config: { 'tabcomplete.serverUrl': server.url } });
  fake.editor.moveCursor('os.'.length);
  const { run } = await activated(fake);
  const outcome = await run('tabcomplete.tab');
  assert.equal(outcome.action, 'menu');
  assert.equal(server.requests[0].body.choices, 3);
  assert.ok(fake.executed.includes('editor.action.triggerSuggest'));
  assert.deepEqual(fake.suggest.items.map((i) => [i.label.label, i.label.description, i.insertText, i.sortText]),
    [['path.', '42%', 'path.', '0000'], ['name', '20%', 'name', '0001']]);
  assert.equal(fake.editor.text, 'os.\nx = 1'); // nothing goes in until one is picked
  assert.match(fake.vscode.window.statusItem.text, /^\$\(list-ordered\) tabcomplete: 2 choices \(\d+ ms\)$/);
  await fake.acceptSuggestion(1);
  assert.equal(fake.editor.text, 'os.name\nx = 1');
  assert.deepEqual(fake.edits, [{ inserts: ['name'], options: { undoStopBefore: true, undoStopAfter: true } }]);
  // Picked: the provider serves them no more (Ctrl+Space later shows no stale choices).
  assert.equal(fake.completionProviders[0].provideCompletionItems(fake.document, fake.editor.selection.active), undefined);
});

test('choices: typing while they show closes the widget; a moved cursor never gets them', async (t) => {
  const server = await startServer(() => answerJson('', { choices: CHOICES }));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'os.', config: { 'tabcomplete.serverUrl': server.url } });
  const { run } = await activated(fake);
  assert.equal((await run('tabcomplete.tab')).action, 'menu');
  assert.equal(fake.suggest.items.length, 2);
  fake.editor.type('p');
  assert.equal(fake.suggest.items, null);
  assert.ok(fake.executed.includes('hideSuggestWidget'));
  assert.equal(fake.editor.text, 'os.p');

  assert.equal((await run('tabcomplete.tab')).action, 'menu');
  fake.editor.moveCursor(0); // the cursor moves before VS Code asks the provider
  assert.equal(fake.completionProviders[0].provideCompletionItems(fake.document, fake.editor.selection.active), undefined);
});

test('nothing to offer: the text is left byte for byte as it was, and the status bar says so', async (t) => {
  const server = await startServer(() => answerJson('', { choices: [] }));
  t.after(server.close);
  const fake = createFakeVscode({ text: 'self.\n', config: { 'tabcomplete.serverUrl': server.url } });
  fake.editor.moveCursor('self.'.length);
  const { run } = await activated(fake);
  const outcome = await run('tabcomplete.tab');
  assert.deepEqual([outcome.action, outcome.reason], ['none', 'empty']);
  assert.equal(fake.editor.text, 'self.\n');
  assert.deepEqual(fake.edits, []);
  assert.ok(!fake.executed.includes('tab') && !fake.executed.includes('editor.action.triggerSuggest'));
  assert.match(fake.vscode.window.statusItem.text, /tabcomplete: no completion \(\d+ ms\)$/);
});

// The shared table's flow cases through this adapter, its suggest widget and the fake VS Code.
for (const c of table.flow.cases) {
  test(`flow: ${c.name}`, async () => {
    const result = await runFlowCase({ ...c, input: { ...table.flow.defaults, ...c.input } }, async ({ text, cursor, settings }) => {
      const config = Object.fromEntries(Object.entries(settings).map(([k, v]) => [`tabcomplete.${k}`, v]));
      const fake = createFakeVscode({ text, config });
      fake.editor.moveCursor(cursor);
      const { run } = await activated(fake);
      return {
        type: (s) => fake.editor.type(s),
        tab: () => run('tabcomplete.tab'),
        state: () => ({ text: fake.editor.text, cursor: fake.editor.cursorOffset() }),
        menu: () => fake.suggest.items && fake.suggest.items.map((i) => ({ label: i.label.label, detail: i.label.description })),
        pick: (i) => fake.acceptSuggestion(i),
        dismiss: () => fake.vscode.commands.executeCommand('hideSuggestWidget'),
        status: () => fake.vscode.window.statusItem.text.replace(/^\$\([^)]*\) /, ''),
      };
    });
    assert.deepEqual(result, c.expect);
  });
}
