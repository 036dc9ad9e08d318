'use strict';
// The shared table of Tab cases (shared/tab-cases.json) run through the shared client's pure functions.
// The Neovim plug-in (tests/test_nvim_plugin.py) and the playground (tests/test_playground.py) run the same table.
// The flow cases run here through TabCompleter with a plain editor; vscode.test.js and atom.test.js run them
// through the VS Code and Pulsar adapters.
const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('../shared/client');
const table = require('../shared/tab-cases.json');
const limits = require('../shared/limits.json');
const { runFlowCase } = require('./helpers');

// {"repeat": S, "count": N | limit name, "plus": K} and {"concat": [...]} stand for long strings.
function expand(value) {
  if (Array.isArray(value)) return value.map(expand);
  if (value === null || typeof value !== 'object') return value;
  if ('repeat' in value) {
    const count = typeof value.count === 'string' ? limits[value.count] : value.count;
    assert.ok(Number.isInteger(count), `unknown count ${value.count}`);
    return value.repeat.repeat(count + (value.plus || 0));
  }
  if ('concat' in value) return value.concat.map(expand).join('');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
}

const input = (group, c) => expand({ ...group.defaults, ...c.input });

const RUNNERS = {
  tab: (group, c) => client.decideTab(input(group, c)),
  answer: (group, c) => {
    const decision = client.decideAnswer(input(group, c));
    return { action: decision.action, reason: decision.reason, status: client.statusText(decision.status) };
  },
  status: (group, c) => client.statusText(c.input),
  body: (group, c) => client.buildBody(input(group, c), { ...group.settings_defaults, ...c.settings }),
  files: (group, c) => {
    const { current, candidates, budget } = input(group, c);
    return client.selectFiles(current, candidates, budget);
  },
  menu: (group, c) => client.menuItems(input(group, c).choices),
  flow: (group, c) => runFlowCase({ ...c, input: input(group, c) }, openPlainEditor),
};

// The plainest editor: a string and a cursor; its menu is a list it keeps until picked or dismissed.
function openPlainEditor({ text, cursor, settings }) {
  let version = 0;
  let shown = null; // {items, snapshot}
  let status = { state: 'idle' };
  const ed = {
    text,
    cursor,
    type(s) {
      ed.text = ed.text.slice(0, ed.cursor) + s + ed.text.slice(ed.cursor);
      ed.cursor += s.length;
      version += 1;
      shown = null; // typing dismisses the menu
    },
  };
  const adapter = {
    read: () => ({ linePrefix: ed.text.slice(ed.text.lastIndexOf('\n', ed.cursor - 1) + 1, ed.cursor),
      text: ed.text.slice(0, ed.cursor), suffix: ed.text.slice(ed.cursor), language: 'python', simple: true }),
    snapshot: () => `${version}:${ed.cursor}`,
    normalTab: () => ed.type('\t'),
    insert: (s) => { ed.type(s); return true; },
    menu: (items, snapshot) => {
      assert.equal(snapshot, adapter.snapshot(), 'a stale menu is never shown');
      shown = { items };
    },
  };
  const completer = new client.TabCompleter({ getSettings: () => settings, onStatus: (s) => { status = s; } });
  return {
    type: ed.type,
    tab: () => completer.onTab(adapter),
    state: () => ({ text: ed.text, cursor: ed.cursor }),
    menu: () => shown && shown.items,
    pick: (i) => { const { text: s } = shown.items[i]; shown = null; ed.type(s); },
    dismiss: () => { shown = null; },
    status: () => client.statusText(status),
  };
}

test('the table has exactly the groups this runner knows, each with cases', () => {
  assert.deepEqual(Object.keys(table).filter((k) => k !== 'about').sort(), Object.keys(RUNNERS).sort());
  for (const key of Object.keys(RUNNERS)) assert.ok(table[key].cases.length > 0, key);
});

test('the client reads its caps from limits.json', () => {
  assert.equal(client.LIMITS, limits);
  assert.equal(client.DEFAULT_SETTINGS.filesBudget, limits.files_budget_default);
});

for (const [key, run] of Object.entries(RUNNERS)) {
  for (const c of table[key].cases) {
    test(`${key}: ${c.name}`, async () => {
      assert.deepEqual(await run(table[key], c), expand(c.expect));
    });
  }
}
