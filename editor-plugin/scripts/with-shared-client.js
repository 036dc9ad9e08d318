'use strict';
// Usage: node scripts/with-shared-client.js <plugin-dir> -- <command...>
// Copies shared/client.js into <plugin-dir>/lib/shared-client.js, runs the packaging command there
// (so the package carries its own copy of the client), then removes the copy again.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const [pluginName, dashes, ...command] = process.argv.slice(2);
if (!pluginName || dashes !== '--' || command.length === 0) {
  console.error('usage: node scripts/with-shared-client.js <plugin-dir> -- <command...>');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const pluginDir = path.join(root, pluginName);
const copy = path.join(pluginDir, 'lib', 'shared-client.js');
fs.copyFileSync(path.join(root, 'shared', 'client.js'), copy);
let status = 1;
try {
  const result = spawnSync(command[0], command.slice(1), { cwd: pluginDir, stdio: 'inherit' });
  status = result.status === null ? 1 : result.status;
} finally {
  fs.rmSync(copy, { force: true });
}
process.exit(status);
