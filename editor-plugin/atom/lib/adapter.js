'use strict';
// One Pulsar TextEditor seen through the interface the shared TabCompleter expects.
const { serverLanguage } = require('./client');

// 'source.python' -> 'python', 'source.js' -> 'javascript', 'source.js.jsx' -> 'javascript': the names the
// server's models go by (shared/client.js's serverLanguage; path: a .h file in a C++ grammar is C).
function languageOf(grammar, path = '') {
  const scope = (grammar && grammar.scopeName) || '';
  return serverLanguage(scope.replace(/^(source|text)\./, '').split('.')[0], path);
}

// `event` is the keystroke's command event: while it is being dispatched, abortKeyBinding() hands Tab
// to the next binding (snippets, then editor:indent); once the server has answered that moment is gone.
// recent: a RecentlyUsed keyed by TextEditor id. onMenu(editor, items): shows the choices (the package's
// autocomplete-plus provider); false when it cannot.
function createAdapter(atomEnv, editor, event, recent, onMenu) {
  let changes = 0; // every buffer edit or cursor move bumps this, so a stale answer is seen
  const watches = [
    editor.getBuffer().onDidChange(() => { changes += 1; }),
    editor.onDidChangeCursorPosition(() => { changes += 1; }),
  ];
  return {
    read() {
      const cursor = editor.getCursorBufferPosition();
      return {
        linePrefix: editor.getTextInBufferRange([[cursor.row, 0], cursor]),
        text: editor.getTextInBufferRange([[0, 0], cursor]),
        suffix: editor.getTextInBufferRange([cursor, editor.getBuffer().getEndPosition()]),
        language: languageOf(editor.getGrammar(), editor.getPath()),
        path: editor.getPath() || '',
        simple: editor.getCursors().length === 1 && editor.getLastSelection().isEmpty(),
      };
    },
    files: () => atomEnv.workspace.getTextEditors().map((other) => ({
      path: other.getPath() || '',
      language: languageOf(other.getGrammar(), other.getPath()),
      text: other.getText(),
      used: recent ? recent.rank(other.id) : 0,
      untitled: !other.getPath(),
    })),
    snapshot: () => `${changes}|${atomEnv.workspace.getActiveTextEditor() === editor}`,
    normalTab(late) {
      if (!late && event && typeof event.abortKeyBinding === 'function') return event.abortKeyBinding();
      return atomEnv.commands.dispatch(atomEnv.views.getView(editor), 'editor:indent');
    },
    // transact() makes the insertion one undo step; no auto-indent so the text goes in as answered.
    insert(text) {
      editor.transact(() => editor.insertText(text, { autoIndent: false, autoIndentNewline: false, autoDecreaseIndent: false }));
      return true;
    },
    menu: onMenu ? (items) => onMenu(editor, items) : undefined,
    dispose() {
      for (const watch of watches) watch.dispose();
    },
  };
}

module.exports = { createAdapter, languageOf };
