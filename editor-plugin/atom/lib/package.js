'use strict';
// The Pulsar package, built from the `atom` environment and DOM `document` it is given (tests pass fakes).
const { TabCompleter, RecentlyUsed, statusText } = require('./client');
const { createAdapter } = require('./adapter');

const EDITORS = 'atom-text-editor:not([mini])';
const AUTOCOMPLETE = 'autocomplete-plus'; // Pulsar's bundled completion menu: it shows the choices

function createPackage({ atom, document }) {
  let completer = null;
  let commands = null;
  let configWatch = null;
  let editorWatch = null;
  let recent = null; // when each TextEditor (by id) was last active: the order of `files`
  let element = null;
  let lastStatus = { state: 'idle' };
  let menu = null; // {editor, items, watches}: the choices on offer, until the editor's text or cursor changes

  function closeMenu() {
    if (!menu) return;
    for (const watch of menu.watches) watch.dispose();
    menu = null;
  }

  // The choices go to autocomplete-plus's list: this package's provider answers the request that
  // autocomplete-plus:activate makes with them, while the editor's text and cursor are as they were.
  function showMenu(editor, items) {
    if (!atom.packages.isPackageActive(AUTOCOMPLETE)) return false;
    closeMenu();
    menu = { editor, items, watches: [editor.getBuffer().onDidChange(closeMenu), editor.onDidChangeCursorPosition(closeMenu)] };
    atom.commands.dispatch(atom.views.getView(editor), `${AUTOCOMPLETE}:activate`, { activatedManually: true });
    return true;
  }

  // The autocomplete-plus provider (service autocomplete.provider 4.0.0): the choices, in the server's
  // order, replacing nothing; nothing at all when there are none on offer for this editor.
  const provider = {
    selector: '*',
    inclusionPriority: 10,
    suggestionPriority: 10,
    filterSuggestions: false,
    getSuggestions({ editor }) {
      if (!menu || menu.editor !== editor) return [];
      return menu.items.map((item) => ({ text: item.text, displayText: item.label, replacementPrefix: '', rightLabel: item.detail,
        type: 'value', description: `tabcomplete: ${item.detail}` }));
    },
    onDidInsertSuggestion: closeMenu,
  };

  function setStatus(status) {
    lastStatus = status;
    if (!element) return;
    element.textContent = statusText(status);
    element.title = status.message || 'tabcomplete: Tab completes code (click to turn on/off)';
  }

  async function runTab(event, force) {
    const editor = event.currentTarget.getModel();
    const adapter = createAdapter(atom, editor, event, recent, showMenu);
    try {
      return await completer.onTab(adapter, { force });
    } finally {
      adapter.dispose();
    }
  }

  function toggle() {
    const enabled = atom.config.get('tabcomplete.enabled') !== false;
    atom.config.set('tabcomplete.enabled', !enabled);
    return !enabled;
  }

  return {
    activate() {
      completer = new TabCompleter({ getSettings: () => atom.config.get('tabcomplete'), onStatus: setStatus });
      recent = new RecentlyUsed();
      editorWatch = atom.workspace.observeActiveTextEditor((editor) => recent.touch(editor && editor.id));
      commands = atom.commands.add(EDITORS, {
        'tabcomplete:tab': (event) => runTab(event, false),
        'tabcomplete:complete-now': (event) => runTab(event, true),
        'tabcomplete:toggle': toggle,
      });
      configWatch = atom.config.observe('tabcomplete.enabled', (enabled) => setStatus({ state: enabled ? 'idle' : 'off' }));
    },

    deactivate() {
      if (completer) completer.cancel();
      closeMenu();
      if (commands) commands.dispose();
      if (configWatch) configWatch.dispose();
      if (editorWatch) editorWatch.dispose();
      completer = commands = configWatch = editorWatch = recent = null;
    },

    consumeStatusBar(statusBar) {
      element = document.createElement('a');
      element.classList.add('inline-block', 'tabcomplete-status');
      element.addEventListener('click', toggle);
      setStatus(lastStatus);
      const tile = statusBar.addRightTile({ item: element, priority: 100 });
      return { dispose: () => { tile.destroy(); element = null; } };
    },

    provideAutocomplete: () => provider,

    status: () => lastStatus,
  };
}

module.exports = { createPackage, EDITORS };
