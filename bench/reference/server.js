// The reference: a Node.js server of the prototype's design, for bench/server_bench.py to race.
//
// Express for HTTP, `ws` for WebSockets, clients in an in-memory map, a broadcast loop, nothing
// persisted. It speaks the subset of protocol v1 the benchmark uses (join, chat broadcast, signal
// relay, leave on close) with the same JSON shapes as voxroom-server, so the same load generator
// drives both. No rate limits, no history, no resume: what the prototype did, and no more.
//
// Run: node server.js [--host H] [--port N] [...]; it prints "reference listening on ws://H:N/ws".
// The launcher's other flags (--data-dir, --max-room-size, ...) are taken and ignored.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const { WebSocketServer } = require('ws');

const SUBPROTOCOL = 'voxroom.v1';
const MAX_MESSAGE_BYTES = 65536;
const PING_INTERVAL_MS = 20000;

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const clients = new Map(); // peer id -> { ws, room, username }
const rooms = new Map(); // room -> Set of peer ids, in join order
const lastChatId = new Map(); // room -> last chat id

const app = express();
app.get('/health', (req, res) => {
  res.json({ status: 'ok', rooms: rooms.size, clients: clients.size, peers: clients.size });
});
const server = http.createServer(app);
const wss = new WebSocketServer({
  server,
  path: '/ws',
  perMessageDeflate: false,
  maxPayload: MAX_MESSAGE_BYTES,
  handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
});

function send(ws, message) {
  ws.send(JSON.stringify(message));
}

function broadcast(room, message, except) {
  const data = JSON.stringify(message);
  for (const id of rooms.get(room) || []) {
    const client = clients.get(id);
    if (client && id !== except && client.ws.readyState === client.ws.OPEN) {
      client.ws.send(data);
    }
  }
}

function peerOf(id, client) {
  return { id, username: client.username, muted: false, deafened: false, voice: false };
}

function join(ws, state, message) {
  if (state.id) {
    send(ws, { type: 'error', code: 'already-joined', message: 'already joined', ref: 'join' });
    return;
  }
  const { room, username } = message;
  if (typeof room !== 'string' || typeof username !== 'string') {
    send(ws, { type: 'error', code: 'bad-message', message: 'room and username', ref: 'join' });
    return;
  }
  const id = crypto.randomBytes(8).toString('hex');
  const client = { ws, room, username };
  const members = rooms.get(room) || new Set();
  const peers = [...members].map((other) => peerOf(other, clients.get(other)));
  broadcast(room, { type: 'peer-joined', peer: peerOf(id, client) });
  members.add(id);
  rooms.set(room, members);
  clients.set(id, client);
  state.id = id;
  send(ws, {
    type: 'joined',
    room,
    self: { id, username },
    peers,
    history: [],
    resume: '',
    resumed: false,
    ice_servers: [],
    server: { version: 'reference' },
  });
}

function chat(state, message) {
  const client = clients.get(state.id);
  const id = (lastChatId.get(client.room) || 0) + 1;
  lastChatId.set(client.room, id);
  broadcast(client.room, {
    type: 'chat',
    id,
    from: state.id,
    username: client.username,
    text: String(message.text),
    ts: Date.now(),
  });
}

function signal(ws, state, message) {
  const client = clients.get(state.id);
  const target = clients.get(message.target);
  if (!target || target.room !== client.room || message.target === state.id) {
    send(ws, { type: 'error', code: 'unknown-target', message: 'no such peer in this room', ref: 'signal' });
    return;
  }
  send(target.ws, { type: 'signal', from: state.id, payload: message.payload });
}

function leave(state) {
  const client = clients.get(state.id);
  if (!client) return;
  clients.delete(state.id);
  const members = rooms.get(client.room);
  members.delete(state.id);
  if (members.size === 0) {
    rooms.delete(client.room);
  } else {
    broadcast(client.room, { type: 'peer-left', id: state.id });
  }
}

wss.on('connection', (ws) => {
  const state = { id: null };
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  ws.on('message', (data, isBinary) => {
    let message;
    try {
      message = isBinary ? null : JSON.parse(data);
    } catch {
      message = null;
    }
    if (!message || typeof message.type !== 'string') {
      send(ws, { type: 'error', code: 'bad-message', message: 'not a JSON message' });
      return;
    }
    if (message.type === 'join') {
      join(ws, state, message);
    } else if (!state.id) {
      send(ws, { type: 'error', code: 'not-joined', message: 'send `join` first', ref: message.type });
    } else if (message.type === 'chat') {
      chat(state, message);
    } else if (message.type === 'signal') {
      signal(ws, state, message);
    } else if (message.type === 'leave') {
      leave(state);
      ws.close(1000, 'left');
    }
  });
  ws.on('close', () => leave(state));
});

// The `ws` README's heartbeat: a client that did not answer the last ping is dropped.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, PING_INTERVAL_MS);
wss.on('close', () => clearInterval(heartbeat));

const host = option('--host', '127.0.0.1');
server.listen(Number(option('--port', '8765')), host, () => {
  console.log(`reference listening on ws://${host}:${server.address().port}/ws`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
