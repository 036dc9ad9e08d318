'use strict';
// Each package must work on its own: the packaging script copies the shared client in, and a copy of
// the plug-in outside the source tree loads that copy (there is no ../../shared next to it).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { createFakeVscode } = require('./fake-vscode');
const { createFakeAtom, TEXT_BUFFER_MISSING } = require('./fake-atom');

const ROOT = path.join(__dirname, '..');

// What the packaging script does: the shared client and its limits.json go into lib/shared/.
function copyPlugin(name, into) {
  const dest = path.join(into, name);
  fs.cpSync(path.join(ROOT, name), dest, { recursive: true, filter: (src) => !src.includes('node_modules') });
  fs.mkdirSync(path.join(dest, 'lib', 'shared'));
  for (const file of ['client.js', 'limits.json']) fs.copyFileSync(path.join(ROOT, 'shared', file), path.join(dest, 'lib', 'shared', file));
  return dest;
}

test('a packaged VS Code extension loads the client copied next to it', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-vsix-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dest = copyPlugin('vscode', tmp);
  const client = require(path.join(dest, 'lib', 'client.js'));
  assert.equal(require.resolve(path.join(dest, 'lib', 'shared', 'client.js')) in require.cache, true);
  const { createExtension } = require(path.join(dest, 'lib', 'extension.js'));
  const fake = createFakeVscode({ text: 'x' });
  await createExtension(fake.vscode).activate({ subscriptions: [] });
  assert.equal(typeof client.TabCompleter, 'function');
  assert.equal(fake.context['tabcomplete.active'], true);
});

test('a packaged Pulsar package loads the client copied next to it', { skip: TEXT_BUFFER_MISSING }, (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-pulsar-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dest = copyPlugin('atom', tmp);
  const { createPackage } = require(path.join(dest, 'lib', 'package.js'));
  assert.equal(require.resolve(path.join(dest, 'lib', 'shared', 'client.js')) in require.cache, true);
  const fake = createFakeAtom();
  createPackage({ atom: fake.atom, document: fake.document }).activate();
  assert.ok(fake.registered['atom-text-editor:not([mini])']['tabcomplete:tab']);
});

test('the packaging script copies the client and its limits for the command and removes them afterwards', () => {
  const copy = path.join(ROOT, 'atom', 'lib', 'shared');
  const seen = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'with-shared-client.js'), 'atom', '--',
    process.execPath, '-e', "process.stdout.write(String(require('./lib/shared/client.js').LIMITS.text_chars))"], { encoding: 'utf8' });
  assert.equal(seen, String(require('../shared/limits.json').text_chars));
  assert.equal(fs.existsSync(copy), false);
});
