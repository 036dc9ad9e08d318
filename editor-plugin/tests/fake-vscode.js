'use strict';
// A fake `vscode` module: the parts of the API the extension uses, over one plain-text document.
// It records edits (with their undo-stop options), executed commands and context keys, and has a suggest
// widget: editor.action.triggerSuggest asks the completion providers and shows what they answer.
const assert = require('node:assert/strict');
const { TextModel } = require('./helpers');

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(start, end) {
    this.start = start;
    this.end = end;
  }
}

class CompletionItem {
  constructor(label, kind) {
    this.label = label;
    this.kind = kind;
  }
}

class CompletionList {
  constructor(items, isIncomplete) {
    this.items = items;
    this.isIncomplete = isIncomplete;
  }
}

class InlineCompletionItem {
  constructor(insertText, range) {
    this.insertText = insertText;
    this.range = range;
  }
}

// A URI as the extension sees it: file:///... (saved) or untitled:Untitled-1.
function makeUri(path) {
  if (path.startsWith('untitled:')) return { scheme: 'untitled', fsPath: path.slice(9), path: path.slice(9), toString: () => path };
  return { scheme: 'file', fsPath: path, path, toString: () => `file://${path}` };
}

function createFakeVscode({ text = '', language = 'python', config = {}, path = '/work/example.py' } = {}) {
  const listeners = { docChange: [], configChange: [], activeEditor: [], docClose: [] };
  const commands = new Map();
  const executed = [];
  const context = {};
  const edits = [];
  const providers = [];
  const completionProviders = [];
  const suggest = { items: null }; // what the suggest widget shows (null: hidden)
  const settings = { ...config };
  const documents = [];
  const tabs = []; // the editor tabs, one group

  // One document with one editor on it.
  function makeEditor(initial, languageId, docPath) {
    const model = new TextModel(initial);
    const document = {
      uri: makeUri(docPath),
      isUntitled: docPath.startsWith('untitled:'),
      version: 1,
      languageId,
      get lineCount() { return model.lines().length; },
      lineAt(line) {
        return { range: { end: new Position(line, model.lines()[line].length) } };
      },
      getText(range) {
        if (!range) return model.text;
        return model.text.slice(model.offsetAt(range.start.line, range.start.character), model.offsetAt(range.end.line, range.end.character));
      },
    };

    const selectionAt = (offset) => {
      const p = model.positionAt(offset);
      const pos = new Position(p.line, p.character);
      return { anchor: pos, active: pos, isEmpty: true };
    };

    const ed = {
      document,
      selection: selectionAt(model.text.length),
      get selections() { return [ed.selection]; },
      cursorOffset() {
        return model.offsetAt(ed.selection.active.line, ed.selection.active.character);
      },
      // What the user does: type at the cursor. Fires the change event like VS Code.
      type(s) {
        const offset = ed.cursorOffset();
        model.insert(offset, s);
        document.version += 1;
        ed.selection = selectionAt(offset + s.length);
        for (const cb of listeners.docChange) cb({ document, contentChanges: [{ text: s }] });
      },
      moveCursor(offset) {
        ed.selection = selectionAt(offset);
      },
      async edit(callback, options) {
        const inserts = [];
        callback({ insert: (pos, s) => inserts.push({ pos, s }) });
        edits.push({ inserts: inserts.map((i) => i.s), options });
        for (const { pos, s } of inserts) {
          ed.moveCursor(model.offsetAt(pos.line, pos.character));
          ed.type(s);
        }
        return true;
      },
      get text() { return model.text; },
    };
    documents.push(document);
    tabs.push({ input: { uri: document.uri }, editor: ed });
    return ed;
  }

  const editor = makeEditor(text, language, path);
  const { document } = editor;

  // The user switches to an editor (VS Code fires onDidChangeActiveTextEditor).
  function activate(ed) {
    vscode.window.activeTextEditor = ed;
    for (const cb of listeners.activeEditor) cb(ed);
  }
  // The user opens another file in a new tab and looks at it.
  function openEditor({ text: otherText = '', language: otherLanguage = 'python', path: otherPath }) {
    const other = makeEditor(otherText, otherLanguage, otherPath);
    activate(other);
    return other;
  }
  // A document VS Code keeps loaded without a tab (opened by an extension, or its tab closed).
  function loadWithoutTab({ text: otherText = '', language: otherLanguage = 'python', path: otherPath }) {
    const other = makeEditor(otherText, otherLanguage, otherPath);
    tabs.splice(tabs.findIndex((t) => t.editor === other), 1);
    return other;
  }
  // The user closes a tab; VS Code unloads its document.
  function close(ed) {
    tabs.splice(tabs.findIndex((t) => t.editor === ed), 1);
    documents.splice(documents.indexOf(ed.document), 1);
    for (const cb of listeners.docClose) cb(ed.document);
  }

  const vscode = {
    Position,
    Range,
    InlineCompletionItem,
    CompletionItem,
    CompletionList,
    CompletionItemKind: { Text: 0 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1 },
    window: {
      activeTextEditor: editor,
      statusItem: null,
      createStatusBarItem(alignment, priority) {
        vscode.window.statusItem = { alignment, priority, text: '', tooltip: '', shown: false, show() { this.shown = true; }, dispose() {} };
        return vscode.window.statusItem;
      },
      onDidChangeActiveTextEditor: (cb) => subscribe(listeners.activeEditor, cb),
      tabGroups: { get all() { return [{ tabs: tabs.map(({ input }) => ({ input })) }]; } },
    },
    workspace: {
      getConfiguration(section) {
        return {
          get: (key) => settings[`${section}.${key}`],
          update: async (key, value) => {
            settings[`${section}.${key}`] = value;
            for (const cb of listeners.configChange) cb({ affectsConfiguration: (s) => s === section });
          },
        };
      },
      onDidChangeConfiguration: (cb) => subscribe(listeners.configChange, cb),
      onDidChangeTextDocument: (cb) => subscribe(listeners.docChange, cb),
      onDidCloseTextDocument: (cb) => subscribe(listeners.docClose, cb),
      get textDocuments() { return [...documents]; },
    },
    commands: {
      registerCommand(id, fn) {
        commands.set(id, fn);
        return { dispose: () => commands.delete(id) };
      },
      async executeCommand(id, ...args) {
        executed.push(id);
        if (id === 'setContext') context[args[0]] = args[1];
        else if (id === 'tab') editor.type('\t'); // VS Code's own Tab, simplified
        else if (id === 'editor.action.triggerSuggest') await triggerSuggest();
        else if (id === 'hideSuggestWidget') suggest.items = null;
        else if (commands.has(id)) return commands.get(id)(...args);
        return undefined;
      },
    },
    languages: {
      registerInlineCompletionItemProvider(selector, provider) {
        providers.push(provider);
        return { dispose() {} };
      },
      registerCompletionItemProvider(selector, provider) {
        completionProviders.push(provider);
        return { dispose() {} };
      },
    },
  };

  function subscribe(list, cb) {
    list.push(cb);
    return { dispose: () => list.splice(list.indexOf(cb), 1) };
  }

  // The suggest widget, as VS Code runs it: the providers' items sorted by sortText (no text typed to filter by).
  async function triggerSuggest() {
    const active = vscode.window.activeTextEditor;
    const items = [];
    for (const provider of completionProviders) {
      const answer = await provider.provideCompletionItems(active.document, active.selection.active);
      if (answer) items.push(...(Array.isArray(answer) ? answer : answer.items));
    }
    items.sort((a, b) => ((a.sortText || '') < (b.sortText || '') ? -1 : (a.sortText || '') > (b.sortText || '') ? 1 : 0));
    suggest.items = items.length ? items : null;
  }
  // The user accepts the i-th suggestion (Enter or Tab): one edit replacing its range with its insertText.
  async function acceptSuggestion(i) {
    const item = suggest.items[i];
    suggest.items = null;
    const active = vscode.window.activeTextEditor;
    const { start, end } = item.range;
    assert.deepEqual(start, end, 'the choices replace nothing');
    await active.edit((edit) => edit.insert(start, item.insertText), { undoStopBefore: true, undoStopAfter: true });
  }

  return { vscode, editor, document, openEditor, loadWithoutTab, activate, close, executed, context, edits, providers, settings, commands,
    suggest, acceptSuggestion, completionProviders };
}

module.exports = { createFakeVscode };
