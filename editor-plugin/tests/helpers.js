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
