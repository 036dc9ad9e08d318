'use strict';
// Test helpers: a real HTTP server on 127.0.0.1 (ephemeral port) that records requests and answers
// as each test tells it, and a fake editor that records what the shared TabCompleter does to it.
const http = require('http');

// answer(req, body) -> {status, json} | {status, raw} | 'hang' (never answers: for timeouts)
async function startServer(answer) {
  const requests = [];
  const hanging = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      const body = data ? JSON.parse(data) : null;
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const reply = answer(req, body);
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(reply.status || 200, { 'Content-Type': 'application/json' });
      res.end(reply.raw !== undefined ? reply.raw : JSON.stringify(reply.json));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () => new Promise((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

// A port nothing listens on: bind one, then close it.
async function closedPortUrl() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function answerJson(completion, extra = {}) {
  return { status: 200, json: { completion, alternatives: completion ? [completion] : [], model: 'python', elapsed_ms: 3.5, ...extra } };
}

module.exports = { startServer, closedPortUrl, answerJson };

// Plain text with line/column <-> offset, for the fake editors.
class TextModel {
  constructor(text) {
    this.text = text;
  }

  offsetAt(line, character) {
    const lines = this.text.split('\n');
    let offset = 0;
    for (let i = 0; i < line; i += 1) offset += lines[i].length + 1;
    return offset + character;
  }

  positionAt(offset) {
    const before = this.text.slice(0, offset).split('\n');
    return { line: before.length - 1, character: before[before.length - 1].length };
  }

  lines() {
    return this.text.split('\n');
  }

  insert(offset, s) {
    this.text = this.text.slice(0, offset) + s + this.text.slice(offset);
  }
}

// Resolves once `predicate()` is true, checking after each turn of the event loop (bounded).
function until(predicate, turns = 100000) {
  return new Promise((resolve, reject) => {
    let left = turns;
    const check = () => {
      if (predicate()) return resolve();
      left -= 1;
      if (left <= 0) return reject(new Error('condition never became true'));
      return setImmediate(check);
    };
    check();
  });
}

module.exports.TextModel = TextModel;
module.exports.until = until;

// The table's `flow` cases (shared/tab-cases.json): a buffer written with | at the cursor, the server's
// answer, and what the editor must show and hold afterwards. Each JavaScript editor runs them with runFlowCase.
function parseBuffer(buffer) {
  const cursor = buffer.indexOf('|');
  return { text: buffer.slice(0, cursor) + buffer.slice(cursor + 1), cursor };
}

function showBuffer(text, cursor) {
  return `${text.slice(0, cursor)}|${text.slice(cursor)}`;
}

// The status with its round trip written N: "tabcomplete 12 ms" -> "tabcomplete N ms".
function flowStatus(text) {
  return text.replace(/\d+ ms/, 'N ms');
}

// The HTTP reply startServer gives for a case's answer.
function flowReply(answer) {
  if (answer.http_error) {
    const { status, message } = answer.http_error;
    return { status, json: { error: { code: 'error', message } } };
  }
  return answerJson(answer.completion, { choices: answer.choices });
}

/*
 * Runs one flow case through an editor: open({text, cursor, settings}) -> {tab(), type(s), state(), menu(), pick(i),
 * dismiss(), dispose?()} where state() is {text, cursor}, menu() the items shown (null: none) and tab() resolves
 * once the Tab has been dealt with. Returns what the table's expect holds, for a deepEqual.
 */
async function runFlowCase(c, open) {
  const input = { settings: {}, typed_meanwhile: '', pick: null, ...c.input };
  let editor;
  const server = await startServer(() => {
    if (input.typed_meanwhile) editor.type(input.typed_meanwhile);
    return flowReply(input.answer);
  });
  try {
    const { text, cursor } = parseBuffer(input.buffer);
    editor = await open({ text, cursor, settings: { serverUrl: server.url, ...input.settings } });
    await editor.tab();
    const menu = editor.menu();
    if (menu && input.pick !== null) await editor.pick(input.pick);
    else if (menu) await editor.dismiss();
    const after = editor.state();
    const status = editor.status();
    if (editor.dispose) editor.dispose();
    return {
      buffer: showBuffer(after.text, after.cursor),
      menu: menu ? menu.map((item) => [item.label, item.detail]) : null,
      status: c.expect.status === null ? null : flowStatus(status),
      requests: server.requests.length,
      choices: server.requests.length ? (server.requests[0].body.choices || 0) : null,
    };
  } finally {
    await server.close();
  }
}

module.exports.parseBuffer = parseBuffer;
module.exports.showBuffer = showBuffer;
module.exports.flowStatus = flowStatus;
module.exports.runFlowCase = runFlowCase;
