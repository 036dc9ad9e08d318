'use strict';
// A fake `vscode` module: the parts of the API the extension uses, over one plain-text document.
// It records edits (with their undo-stop options), executed commands and context keys.
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

class InlineCompletionItem {
  constructor(insertText, range) {
    this.insertText = insertText;
    this.range = range;
  }
}

function createFakeVscode({ text = '', language = 'python', config = {} } = {}) {
  const listeners = { docChange: [], configChange: [], activeEditor: [] };
  const commands = new Map();
  const executed = [];
  const context = {};
  const edits = [];
  const providers = [];
  const settings = { ...config };
  const model = new TextModel(text);

  const document = {
    uri: { toString: () => 'file:///work/example.py' },
    version: 1,
    languageId: language,
    get lineCount() { return model.lines().length; },
    lineAt(line) {
      return { range: { end: new Position(line, model.lines()[line].length) } };
    },
    getText(range) {
      return model.text.slice(model.offsetAt(range.start.line, range.start.character), model.offsetAt(range.end.line, range.end.character));
    },
  };

  const selectionAt = (offset) => {
    const p = model.positionAt(offset);
    const pos = new Position(p.line, p.character);
    return { anchor: pos, active: pos, isEmpty: true };
  };

  const editor = {
    document,
    selection: selectionAt(model.text.length),
    get selections() { return [editor.selection]; },
    cursorOffset() {
      return model.offsetAt(editor.selection.active.line, editor.selection.active.character);
    },
    // What the user does: type at the cursor. Fires the change event like VS Code.
    type(s) {
      const offset = editor.cursorOffset();
      model.insert(offset, s);
      document.version += 1;
      editor.selection = selectionAt(offset + s.length);
      for (const cb of listeners.docChange) cb({ document, contentChanges: [{ text: s }] });
    },
    moveCursor(offset) {
      editor.selection = selectionAt(offset);
    },
    async edit(callback, options) {
      const inserts = [];
      callback({ insert: (pos, s) => inserts.push({ pos, s }) });
      edits.push({ inserts: inserts.map((i) => i.s), options });
      for (const { pos, s } of inserts) {
        editor.moveCursor(model.offsetAt(pos.line, pos.character));
        editor.type(s);
      }
      return true;
    },
    get text() { return model.text; },
  };

  const vscode = {
    Position,
    Range,
    InlineCompletionItem,
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
        else if (commands.has(id)) return commands.get(id)(...args);
        return undefined;
      },
    },
    languages: {
      registerInlineCompletionItemProvider(selector, provider) {
        providers.push(provider);
        return { dispose() {} };
      },
    },
  };

  function subscribe(list, cb) {
    list.push(cb);
    return { dispose: () => list.splice(list.indexOf(cb), 1) };
  }

  return { vscode, editor, document, executed, context, edits, providers, settings, commands };
}

module.exports = { createFakeVscode };
