'use strict';
// One VS Code text editor seen through the interface the shared TabCompleter expects.
const { serverLanguage } = require('./client');

function snapshotOf(vscode, editor) {
  const active = vscode.window.activeTextEditor;
  if (!active || active.document !== editor.document) return 'other-editor';
  const { document, selections } = active;
  const cursors = selections.map((s) => `${s.anchor.line}:${s.anchor.character}-${s.active.line}:${s.active.character}`);
  return `${document.uri.toString()}@${document.version}|${cursors.join(',')}`;
}

// The file path of a saved document; untitled and virtual documents (git, output, ...) have none.
function pathOf(document) {
  return !document.isUntitled && document.uri.scheme === 'file' ? document.uri.fsPath : '';
}

// The documents open in editor tabs (not those VS Code keeps loaded for other reasons).
function openDocuments(vscode) {
  const open = new Set();
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) if (tab.input && tab.input.uri) open.add(tab.input.uri.toString());
  }
  return vscode.workspace.textDocuments.filter((d) => open.has(d.uri.toString()));
}

// The server's name for a document's language (a .h file VS Code calls cpp is C: shared/client.js).
function languageOf(document) {
  return serverLanguage(document.languageId, document.uri.path);
}

// recent: a RecentlyUsed keyed by document URI.
function createAdapter(vscode, editor, { onShow, onMenu, recent } = {}) {
  const { document } = editor;
  return {
    read() {
      const cursor = editor.selection.active;
      const lineStart = new vscode.Position(cursor.line, 0);
      const end = document.lineAt(document.lineCount - 1).range.end;
      return {
        linePrefix: document.getText(new vscode.Range(lineStart, cursor)),
        text: document.getText(new vscode.Range(new vscode.Position(0, 0), cursor)),
        suffix: document.getText(new vscode.Range(cursor, end)),
        language: languageOf(document),
        path: pathOf(document),
        simple: editor.selections.length === 1 && editor.selection.isEmpty,
      };
    },
    files: () => openDocuments(vscode).map((d) => ({
      path: pathOf(d),
      language: languageOf(d),
      text: d.getText(),
      used: recent ? recent.rank(d.uri.toString()) : 0,
      untitled: !pathOf(d),
    })),
    snapshot: () => snapshotOf(vscode, editor),
    normalTab: () => vscode.commands.executeCommand('tab'),
    // One edit with undo stops on both sides: a single undo removes exactly the completion.
    insert: (text) =>
      editor.edit((edit) => edit.insert(editor.selection.active, text), { undoStopBefore: true, undoStopAfter: true }),
    show: onShow ? (text) => onShow(editor, text, snapshotOf(vscode, editor)) : undefined,
    // The choices in the suggest widget (the extension's completion provider serves them while the snapshot holds).
    menu: onMenu ? (items, snapshot) => onMenu(editor, items, snapshot) : undefined,
  };
}

module.exports = { createAdapter, snapshotOf, pathOf, languageOf };
