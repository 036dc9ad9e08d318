'use strict';
// The Pulsar package, built from the `atom` environment and DOM `document` it is given (tests pass fakes).
const { TabCompleter, RecentlyUsed, statusText } = require('./client');
const { createAdapter } = require('./adapter');

const EDITORS = 'atom-text-editor:not([mini])';

function createPackage({ atom, document }) {
  let completer = null;
  let commands = null;
  let configWatch = null;
  let editorWatch = null;
  let recent = null; // when each TextEditor (by id) was last active: the order of `files`
  let element = null;
  let lastStatus = { state: 'idle' };

  function setStatus(status) {
    lastStatus = status;
    if (!element) return;
    element.textContent = statusText(status);
    element.title = status.message || 'tabcomplete: Tab completes code (click to turn on/off)';
  }

  async function runTab(event, force) {
    const editor = event.currentTarget.getModel();
    const adapter = createAdapter(atom, editor, event, recent);
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

    status: () => lastStatus,
  };
}

module.exports = { createPackage, EDITORS };
