'use strict';
// The shared table of Tab cases (shared/tab-cases.json) run through the shared client's pure functions.
// The Neovim plug-in (tests/test_nvim_plugin.py) and the playground (tests/test_playground.py) run the same table.
const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('../shared/client');
const table = require('../shared/tab-cases.json');
const limits = require('../shared/limits.json');

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
};

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
    test(`${key}: ${c.name}`, () => {
      assert.deepEqual(run(table[key], c), expand(c.expect));
    });
  }
}
