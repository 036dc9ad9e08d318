'use strict';
// Usage: node scripts/with-shared-client.js <plugin-dir> -- <command...>
// Copies the shared client (shared/client.js and the limits.json it reads) into <plugin-dir>/lib/shared/,
// runs the packaging command there (so the package carries its own copy), then removes the copy again.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const SHARED_FILES = ['client.js', 'limits.json']; // what the client needs at run time (not the test table)

const [pluginName, dashes, ...command] = process.argv.slice(2);
if (!pluginName || dashes !== '--' || command.length === 0) {
  console.error('usage: node scripts/with-shared-client.js <plugin-dir> -- <command...>');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const pluginDir = path.join(root, pluginName);
const copy = path.join(pluginDir, 'lib', 'shared');
fs.mkdirSync(copy, { recursive: true });
for (const name of SHARED_FILES) fs.copyFileSync(path.join(root, 'shared', name), path.join(copy, name));
let status = 1;
try {
  const result = spawnSync(command[0], command.slice(1), { cwd: pluginDir, stdio: 'inherit' });
  status = result.status === null ? 1 : result.status;
} finally {
  fs.rmSync(copy, { recursive: true, force: true });
}
process.exit(status);
