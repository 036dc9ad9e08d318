'use strict';
// Entry point VS Code loads: the real `vscode` module goes into the extension built in lib/.
const vscode = require('vscode');
const { createExtension } = require('./lib/extension');

const extension = createExtension(vscode);

module.exports = { activate: extension.activate, deactivate: extension.deactivate };
