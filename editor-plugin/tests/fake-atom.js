'use strict';
// A fake Pulsar environment (`atom` global and `document`) whose TextEditors hold Pulsar's real TextBuffer
// (@pulsar-edit/text-buffer, a devDependency of editor-plugin/atom: `npm ci` there, or `make node-deps`):
// edits, transactions, change events, positions and undo are the buffer's own; the editor around it (cursor,
// grammar, commands, views, config) is fake. It records transactions, dispatched commands and aborted key
// bindings, and has autocomplete-plus's list: autocomplete-plus:activate asks the providers and shows their answer.
const path = require('path');
const { createRequire } = require('module');

const fromAtom = createRequire(path.join(__dirname, '..', 'atom', 'package.json'));
function loadTextBuffer() {
  try {
    return fromAtom('@pulsar-edit/text-buffer');
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}
const TextBuffer = loadTextBuffer();
// Pulsar fills a package's settings from its configSchema's defaults.
const SCHEMA_DEFAULTS = Object.fromEntries(Object.entries(fromAtom('./package.json').configSchema)
  .map(([key, schema]) => [key, schema.default]));
// Why the Pulsar tests skip, when they do.
const TEXT_BUFFER_MISSING = TextBuffer ? false
  : 'needs Pulsar\'s TextBuffer: npm ci in editor-plugin/atom (make node-deps)';

function createFakeAtom({ text = '', scopeName = 'source.python', config = {}, path = '/work/example.py' } = {}) {
  const dispatched = [];
  const registered = {};
  const transactions = [];
  const configValues = { ...SCHEMA_DEFAULTS, ...config };
  const configObservers = [];
  const activeObservers = [];
  const editors = [];
  let nextId = 1;
  let inTransaction = false;

  const notify = (list) => { for (const cb of list) cb(); };
  const listen = (list, cb) => {
    list.push(cb);
    return { dispose: () => list.splice(list.indexOf(cb), 1) };
  };

  // One TextEditor over its own real TextBuffer; path undefined: an untitled buffer. The cursor is a point
  // the editor keeps (Pulsar's is a marker on the display layer): text typed or inserted at it moves it on.
  function makeEditor(initial, editorScope, editorPath) {
    const buffer = new TextBuffer({ text: initial });
    const cursorListeners = [];
    let cursor = buffer.getEndPosition();
    let multipleCursors = false;
    const setCursor = (point) => {
      cursor = buffer.clipPosition(point);
      notify(cursorListeners);
    };
    const ed = {
      id: nextId++,
      buffer,
      getPath: () => editorPath,
      getText: () => buffer.getText(),
      getCursorBufferPosition: () => cursor.copy(),
      getTextInBufferRange: (range) => buffer.getTextInRange(range),
      getBuffer: () => buffer,
      onDidChangeCursorPosition: (cb) => listen(cursorListeners, cb),
      getGrammar: () => ({ scopeName: editorScope }),
      getCursors: () => (multipleCursors ? [{}, {}] : [{}]),
      getLastSelection: () => ({ isEmpty: () => true }),
      transact(fn) {
        const edits = [];
        transactions.push(edits);
        inTransaction = edits;
        try {
          return buffer.transact(fn);
        } finally {
          inTransaction = false;
        }
      },
      insertText(s, options) {
        if (inTransaction) inTransaction.push({ text: s, options });
        ed.type(s);
      },
      // What the user does: type at the cursor.
      type(s) {
        const range = buffer.setTextInRange([cursor, cursor], s);
        setCursor(range.end);
      },
      moveCursor(offset) {
        setCursor(buffer.positionForCharacterIndex(offset));
      },
      cursorOffset: () => buffer.characterIndexForPosition(cursor),
      undo() {
        buffer.undo();
        setCursor(cursor);
      },
      setMultipleCursors(value) { multipleCursors = value; },
      get text() { return buffer.getText(); },
    };
    editors.push(ed);
    return ed;
  }

  const editor = makeEditor(text, scopeName, path);
  let active = editor;
  // The user opens another file in a new tab (it becomes the active editor, as in Pulsar).
  function openEditor({ text: otherText = '', scopeName: otherScope = 'source.python', path: otherPath } = {}) {
    const other = makeEditor(otherText, otherScope, otherPath);
    activate(other);
    return other;
  }
  function activate(ed) {
    active = ed;
    for (const cb of activeObservers) cb(ed);
  }

  const element = { getModel: () => editor };
  const autocomplete = { providers: [], items: null, active: true };

  const atom = {
    workspace: {
      getActiveTextEditor: () => active,
      getTextEditors: () => [...editors],
      observeActiveTextEditor(cb) {
        cb(active);
        return listen(activeObservers, cb);
      },
    },
    views: { getView: () => element },
    packages: { isPackageActive: (name) => name === 'autocomplete-plus' && autocomplete.active },
    commands: {
      add(selector, commands) {
        registered[selector] = { ...(registered[selector] || {}), ...commands };
        return { dispose: () => { delete registered[selector]; } };
      },
      dispatch(target, name) {
        dispatched.push(name);
        if (name === 'editor:indent') editor.type('\t'); // core's Tab, simplified
        if (name === 'autocomplete-plus:activate') {
          const items = [];
          for (const p of autocomplete.providers) items.push(...p.getSuggestions({ editor: target.getModel(), activatedManually: true }));
          autocomplete.items = items.length ? items : null;
        }
        return true;
      },
    },
    config: {
      get(key) {
        if (key === 'tabcomplete') return { ...configValues };
        return configValues[key.replace(/^tabcomplete\./, '')];
      },
      set(key, value) {
        const name = key.replace(/^tabcomplete\./, '');
        configValues[name] = value;
        for (const o of configObservers) if (o.name === name) o.cb(value);
      },
      observe(key, cb) {
        const observer = { name: key.replace(/^tabcomplete\./, ''), cb };
        configObservers.push(observer);
        cb(configValues[observer.name]);
        return { dispose: () => configObservers.splice(configObservers.indexOf(observer), 1) };
      },
    },
  };

  // A key event for Tab: abortKeyBinding hands it to the next binding, which ends in editor:indent.
  const aborted = [];
  function tabEvent() {
    return {
      currentTarget: element,
      abortKeyBinding() {
        aborted.push(true);
        atom.commands.dispatch(element, 'editor:indent');
      },
    };
  }

  const document = {
    createElement(tag) {
      const listeners = {};
      const el = {
        tag, textContent: '', title: '', classes: [],
        classList: { add: (...names) => el.classes.push(...names) },
        addEventListener(type, cb) { listeners[type] = cb; },
        click() { listeners.click(); },
      };
      return el;
    },
  };

  const tiles = [];
  const statusBar = {
    addRightTile(tile) {
      tiles.push(tile);
      return { destroy: () => tiles.splice(tiles.indexOf(tile), 1) };
    },
  };

  // The user confirms the i-th suggestion: autocomplete-plus replaces its replacementPrefix with its text, in one transaction.
  function confirmSuggestion(i) {
    const suggestion = autocomplete.items[i];
    autocomplete.items = null;
    if (suggestion.replacementPrefix !== '') throw new Error('the choices replace nothing');
    editor.transact(() => editor.insertText(suggestion.text));
    for (const p of autocomplete.providers) if (p.onDidInsertSuggestion) p.onDidInsertSuggestion({ editor, suggestion });
  }

  return { atom, document, editor, openEditor, activate, registered, dispatched, transactions, aborted, tabEvent, statusBar, tiles, configValues,
    autocomplete, confirmSuggestion };
}

module.exports = { createFakeAtom, TextBuffer, TEXT_BUFFER_MISSING };
