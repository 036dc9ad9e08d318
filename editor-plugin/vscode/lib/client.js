'use strict';
// The client lives once, in editor-plugin/shared/. `npm run package` copies it (with limits.json) into
// lib/shared/ for the package and removes the copy afterwards; the source tree uses the original.
const fs = require('fs');
const path = require('path');

const packaged = path.join(__dirname, 'shared', 'client.js');
module.exports = fs.existsSync(packaged) ? require(packaged) : require('../../shared/client.js');
