'use strict';
// A fake Pulsar environment (`atom` global and `document`) over one plain-text TextEditor.
// It records transactions, dispatched commands and aborted key bindings.
const { TextModel } = require('./helpers');

function createFakeAtom({ text = '', scopeName = 'source.python', config = {}, path = '/work/example.py' } = {}) {
  const dispatched = [];
  const registered = {};
  const transactions = [];
  const configValues = {
    enabled: true, serverUrl: 'http://127.0.0.1:8000', timeoutMs: 3000, maxChars: 80, stop: 'line', token: '', languages: ['python'],
    filesBudget: 256000,
    ...config,
  };
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

  // One TextEditor over its own text; path undefined: an untitled buffer.
  function makeEditor(initial, editorScope, editorPath) {
    const model = new TextModel(initial);
    const bufferListeners = [];
    const cursorListeners = [];
    let cursor = initial.length;
    let multipleCursors = false;
    const point = (offset) => {
      const p = model.positionAt(offset);
      return { row: p.line, column: p.character };
    };
    const offsetOf = (p) => (Array.isArray(p) ? model.offsetAt(p[0], p[1]) : model.offsetAt(p.row, p.column));
    const ed = {
      id: nextId++,
      getPath: () => editorPath,
      getText: () => model.text,
      getCursorBufferPosition: () => point(cursor),
      getTextInBufferRange: ([start, end]) => model.text.slice(offsetOf(start), offsetOf(end)),
      getBuffer: () => ({
        onDidChange: (cb) => listen(bufferListeners, cb),
        getEndPosition: () => point(model.text.length),
      }),
      onDidChangeCursorPosition: (cb) => listen(cursorListeners, cb),
      getGrammar: () => ({ scopeName: editorScope }),
      getCursors: () => (multipleCursors ? [{}, {}] : [{}]),
      getLastSelection: () => ({ isEmpty: () => true }),
      transact(fn) {
        const edits = [];
        transactions.push(edits);
        inTransaction = edits;
        try {
          return fn();
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
        model.insert(cursor, s);
        cursor += s.length;
        notify(bufferListeners);
        notify(cursorListeners);
      },
      moveCursor(offset) {
        cursor = offset;
        notify(cursorListeners);
      },
      setMultipleCursors(value) { multipleCursors = value; },
      get text() { return model.text; },
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
    commands: {
      add(selector, commands) {
        registered[selector] = { ...(registered[selector] || {}), ...commands };
        return { dispose: () => { delete registered[selector]; } };
      },
      dispatch(target, name) {
        dispatched.push(name);
        if (name === 'editor:indent') editor.type('\t'); // core's Tab, simplified
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

  return { atom, document, editor, openEditor, activate, registered, dispatched, transactions, aborted, tabEvent, statusBar, tiles, configValues };
}

module.exports = { createFakeAtom };
