'use strict';
// One VS Code text editor seen through the interface the shared TabCompleter expects.

function snapshotOf(vscode, editor) {
  const active = vscode.window.activeTextEditor;
  if (!active || active.document !== editor.document) return 'other-editor';
  const { document, selections } = active;
  const cursors = selections.map((s) => `${s.anchor.line}:${s.anchor.character}-${s.active.line}:${s.active.character}`);
  return `${document.uri.toString()}@${document.version}|${cursors.join(',')}`;
}

function createAdapter(vscode, editor, { onShow } = {}) {
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
        language: document.languageId,
        simple: editor.selections.length === 1 && editor.selection.isEmpty,
      };
    },
    snapshot: () => snapshotOf(vscode, editor),
    normalTab: () => vscode.commands.executeCommand('tab'),
    // One edit with undo stops on both sides: a single undo removes exactly the completion.
    insert: (text) =>
      editor.edit((edit) => edit.insert(editor.selection.active, text), { undoStopBefore: true, undoStopAfter: true }),
    show: onShow ? (text) => onShow(editor, text, snapshotOf(vscode, editor)) : undefined,
  };
}

module.exports = { createAdapter, snapshotOf };
