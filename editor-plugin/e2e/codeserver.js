'use strict';
// Drives the VS Code extension in real VS Code (code-server) with headless Chromium (playwright-core):
// install the .vsix, open a .py file (--file NAME: another), type a line, press Tab, save, and print what the file holds.
// With --other-file, other.py (that text) is opened first, so the extension has a file to send in `files`.
// With --pick N the Tab must open the suggest widget with the choices: its rows are recorded, the N-th
// (from 0) is accepted with the arrows and Enter. --settings JSON adds user settings (e.g. tabcomplete.choices).
//
//   node e2e/codeserver.js --server-url URL --vsix PATH --workdir DIR [--token T] [--screenshot PNG]
//       [--request-options JSON] [--other-file TEXT] [--pick N] [--settings JSON] [--file NAME]
// Prints one JSON object on its last line: {"file": <saved text>, "status": <status bar text>,
// "menu": [{label, description}] (with --pick: the suggest widget's rows)}.
// Needs code-server and playwright-core under e2e/node_modules (see e2e/install.sh) and /usr/bin/chromium.
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

const E2E = __dirname;
const CODE_SERVER = path.join(E2E, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['server-url', 'vsix', 'workdir']) {
    if (!args[required]) throw new Error(`--${required} is required`);
  }
  return args;
}

// Resolves with the first stdout/stderr line matching `pattern`; rejects if the process exits first.
function waitForLine(proc, pattern, label) {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk;
      const match = buffered.match(pattern);
      if (match) {
        proc.stdout.off('data', onData);
        proc.stderr.off('data', onData);
        resolve(match);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${label} exited (${code}) before it was ready:\n${buffered}`)));
  });
}

// Presses Tab and waits until the status item shows a latency, the choices, an empty answer or an error
// (not the spinner); returns its text.
async function tabAndSettle(page, statusItem) {
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => [...document.querySelectorAll('.statusbar-item')]
    .some((el) => /tabcomplete( \d+ ms|: )/.test(el.textContent)), null, { timeout: 60000 });
  return (await statusItem.first().textContent()).trim();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { chromium } = require(path.join(E2E, 'node_modules', 'playwright-core'));
  const work = path.resolve(args.workdir);
  const userData = path.join(work, 'user-data');
  const extensions = path.join(work, 'extensions');
  const project = path.join(work, 'project');
  for (const dir of [userData, extensions, project, path.join(userData, 'User')]) fs.mkdirSync(dir, { recursive: true });
  const name = args.file || 'example.py';
  const file = path.join(project, name);
  fs.writeFileSync(file, '');
  if (args['other-file']) fs.writeFileSync(path.join(project, 'other.py'), args['other-file']);
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'tabcomplete.serverUrl': args['server-url'],
    'tabcomplete.token': args.token || '',
    'tabcomplete.requestOptions': JSON.parse(args['request-options'] || '{}'),
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.autoClosingBrackets': 'never',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'files.autoSave': 'off',
    'editor.wordBasedSuggestions': 'off', // the suggest widget holds the extension's choices only
    ...JSON.parse(args.settings || '{}'),
  }, null, 2));

  const common = ['--user-data-dir', userData, '--extensions-dir', extensions, '--disable-telemetry', '--disable-update-check'];
  execFileSync(process.execPath, [CODE_SERVER, ...common, '--install-extension', path.resolve(args.vsix)], { stdio: 'inherit' });

  const server = spawn(process.execPath, [CODE_SERVER, ...common, '--auth', 'none', '--bind-addr', '127.0.0.1:0',
    '--disable-workspace-trust', '--disable-getting-started-override', project], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.setEncoding('utf8');
  server.stderr.setEncoding('utf8');
  let context;
  try {
    const [, url] = await waitForLine(server, /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/, 'code-server');
    // A fresh profile (user data dir) each run.
    context = await chromium.launchPersistentContext(path.join(work, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 520 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    await page.goto(`${url}/?folder=${encodeURIComponent(project)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120000 });
    // The extension's status item appears once it is activated.
    const statusItem = page.locator('.statusbar-item', { hasText: 'tabcomplete' });
    await statusItem.first().waitFor({ timeout: 120000 });

    const open = async (name) => {
      await page.keyboard.press('Control+P');
      await page.keyboard.type(name);
      await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { timeout: 60000 });
      await page.keyboard.press('Enter');
      await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 60000 });
    };
    if (args['other-file']) await open('other.py');
    await open(name);
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor({ timeout: 60000 });
    await editor.click();
    await page.keyboard.type(args.line || 'import o');
    const status = await tabAndSettle(page, statusItem);
    const result = { status };
    if (args.pick !== undefined) {
      const rows = page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
      await rows.first().waitFor({ timeout: 30000 });
      result.menu = await rows.evaluateAll((els) => els.map((el) => ({
        label: (el.querySelector('.label-name') || el).textContent,
        description: (el.querySelector('.details-label') || { textContent: '' }).textContent, // label.description, on the right
      })));
      if (args.screenshot) await page.screenshot({ path: args.screenshot });
      for (let i = 0; i < Number(args.pick); i += 1) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.locator('.editor-widget.suggest-widget.visible').waitFor({ state: 'hidden', timeout: 30000 });
    } else if (args.screenshot) {
      await page.screenshot({ path: args.screenshot });
    }
    await page.keyboard.press('Control+S');
    await page.waitForFunction(() => !document.querySelector('.tab.dirty'), null, { timeout: 30000 });
    console.log(JSON.stringify({ file: fs.readFileSync(file, 'utf8'), ...result }));
  } finally {
    if (context) await context.close();
    server.kill();
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
