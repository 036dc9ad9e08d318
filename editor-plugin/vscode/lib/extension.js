'use strict';
// Everything the extension contributes, built from the `vscode` module it is given (tests pass a fake one).
const { TabCompleter, RecentlyUsed, DEFAULT_SETTINGS, normalizeSettings, languageEnabled, statusText } = require('./client');
const { createAdapter, snapshotOf, languageOf } = require('./adapter');

const SECTION = 'tabcomplete';
const ACTIVE_KEY = 'tabcomplete.active'; // context key the Tab keybinding's `when` clause reads

function readSettings(vscode) {
  const config = vscode.workspace.getConfiguration(SECTION);
  const raw = {};
  for (const key of Object.keys(DEFAULT_SETTINGS)) raw[key] = config.get(key);
  return raw;
}

function createExtension(vscode) {
  let completer = null;
  let statusItem = null;
  let inlinePending = null; // {snapshot, text}: the answer inline mode is showing as ghost text
  let menuPending = null; // {snapshot, items}: the choices the suggest widget is showing (or about to)
  const recent = new RecentlyUsed(); // when each document (URI) was last active: the order of `files`

  function setStatus(status) {
    if (!statusItem) return;
    const icon = { waiting: '$(sync~spin)', ok: '$(check)', choices: '$(list-ordered)', error: '$(warning)', dropped: '$(circle-slash)',
      off: '$(circle-outline)' };
    statusItem.text = `${icon[status.state] || '$(sparkle)'} ${statusText(status)}`;
    statusItem.tooltip = status.message || 'tabcomplete: Tab completes code (click to turn on/off)';
  }

  // The keybinding only fires where completing makes sense, so other extensions' Tab keeps working elsewhere.
  function updateContext() {
    let active = false;
    let settings = null;
    try {
      settings = normalizeSettings(readSettings(vscode));
    } catch (err) {
      setStatus({ state: 'error', message: err.message });
    }
    const editor = vscode.window.activeTextEditor;
    if (settings && editor) active = settings.enabled && languageEnabled(settings, languageOf(editor.document));
    if (settings && !settings.enabled) setStatus({ state: 'off' });
    return vscode.commands.executeCommand('setContext', ACTIVE_KEY, active);
  }

  function onActiveEditor(editor) {
    if (editor) recent.touch(editor.document.uri.toString());
    return updateContext();
  }

  function showInline(editor, text, snapshot) {
    inlinePending = { snapshot, text };
    return vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  }

  const inlineProvider = {
    provideInlineCompletionItems(document, position) {
      const editor = vscode.window.activeTextEditor;
      if (!inlinePending || !editor || editor.document !== document) return [];
      if (snapshotOf(vscode, editor) !== inlinePending.snapshot) return [];
      return [new vscode.InlineCompletionItem(inlinePending.text, new vscode.Range(position, position))];
    },
  };

  // The choices go to VS Code's suggest widget: this extension's completion provider answers the
  // suggest request it triggers with them, and only while nothing has changed since the Tab.
  function showMenu(editor, items, snapshot) {
    menuPending = { snapshot, items };
    return vscode.commands.executeCommand('editor.action.triggerSuggest');
  }

  const menuProvider = {
    provideCompletionItems(document, position) {
      const editor = vscode.window.activeTextEditor;
      if (!menuPending || !editor || editor.document !== document) return undefined;
      if (snapshotOf(vscode, editor) !== menuPending.snapshot) {
        menuPending = null; // stale: never shown
        return undefined;
      }
      // An empty range at the cursor: nothing typed is replaced, nothing filters the list, and
      // sortText keeps the server's order (most probable first).
      const items = menuPending.items.map((item, i) => {
        const completion = new vscode.CompletionItem({ label: item.label, description: item.detail }, vscode.CompletionItemKind.Text);
        completion.insertText = item.text;
        completion.range = new vscode.Range(position, position);
        completion.sortText = String(i).padStart(4, '0');
        completion.filterText = item.text;
        completion.detail = `tabcomplete ${item.detail}`;
        completion.preselect = i === 0;
        return completion;
      });
      return new vscode.CompletionList(items, false);
    },
  };

  async function runTab(force) {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return { action: 'none', reason: 'no-editor' };
    return completer.onTab(createAdapter(vscode, editor, { onShow: showInline, onMenu: showMenu, recent }), { force });
  }

  async function toggle() {
    const config = vscode.workspace.getConfiguration(SECTION);
    const enabled = config.get('enabled') !== false;
    await config.update('enabled', !enabled, vscode.ConfigurationTarget.Global);
    setStatus({ state: enabled ? 'off' : 'idle' });
    return !enabled;
  }

  function activate(context) {
    completer = new TabCompleter({ getSettings: () => readSettings(vscode), onStatus: setStatus });
    statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
    statusItem.command = 'tabcomplete.toggle';
    setStatus({ state: 'idle' });
    statusItem.show();
    context.subscriptions.push(
      statusItem,
      vscode.commands.registerCommand('tabcomplete.tab', () => runTab(false)),
      vscode.commands.registerCommand('tabcomplete.completeNow', () => runTab(true)),
      vscode.commands.registerCommand('tabcomplete.toggle', toggle),
      vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, inlineProvider),
      vscode.languages.registerCompletionItemProvider({ pattern: '**' }, menuProvider),
      vscode.window.onDidChangeActiveTextEditor(onActiveEditor),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) updateContext();
      }),
      // Typing while a request is in flight makes its answer stale: stop waiting for it. Typing (or
      // picking) while the choices are showing closes them.
      vscode.workspace.onDidChangeTextDocument((e) => {
        const editor = vscode.window.activeTextEditor;
        if (editor && e.document === editor.document && e.contentChanges.length) {
          completer.cancel();
          inlinePending = null;
          if (menuPending) {
            menuPending = null;
            vscode.commands.executeCommand('hideSuggestWidget');
          }
        }
      }),
      vscode.workspace.onDidCloseTextDocument((d) => recent.forget(d.uri.toString())),
      { dispose: () => completer.cancel() },
    );
    return onActiveEditor(vscode.window.activeTextEditor);
  }

  function deactivate() {
    if (completer) completer.cancel();
  }

  return { activate, deactivate, inlineProvider, menuProvider, readSettings: () => readSettings(vscode) };
}

module.exports = { createExtension, readSettings, SECTION, ACTIVE_KEY };
