/**
 * The bare-WebSocket baseline of the gateway scenario: the least a relay over plain `ws` can do,
 * with JSON frames shaped like `/ws`'s. `{type:"join", id, roomId}` puts the connection in a room;
 * `{type:"send", id, roomId, clientMsgId, text}` is broadcast to the room as
 * `{type:"event", event:"new", data}` and answered `{type:"reply", id, ok:true}`. No auth, no
 * validation, no storage, no ordering guarantees; no compression, as `/ws` has none.
 *
 * Environment: PORT, HOST (127.0.0.1).
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

// `/readyz` mirrors Switchboard's readiness probe so the bench waits for every server the same way.
const httpServer = createServer((req, res) => {
  if (req.url === '/readyz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
  else res.writeHead(404).end();
});

const wss = new WebSocketServer({ server: httpServer, path: '/ws', perMessageDeflate: false });
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 0;

wss.on('connection', (ws) => {
  const joined = new Set<string>();
  ws.on('message', (data) => {
    let frame: { type?: unknown; id?: unknown; roomId?: unknown; clientMsgId?: unknown; text?: unknown };
    try {
      frame = JSON.parse(String(data)) as typeof frame;
    } catch {
      return;
    }
    const roomId = String(frame.roomId);
    if (frame.type === 'join') {
      let members = rooms.get(roomId);
      if (!members) rooms.set(roomId, (members = new Set()));
      members.add(ws);
      joined.add(roomId);
      ws.send(JSON.stringify({ type: 'reply', id: frame.id, ok: true }));
    } else if (frame.type === 'send') {
      const message = { id: String(++nextId), roomId, clientMsgId: frame.clientMsgId, text: frame.text, createdAt: Date.now() };
      // One serialization for every receiver, as Socket.IO's broadcast encodes a packet once.
      const out = JSON.stringify({ type: 'event', event: 'new', data: message });
      for (const member of rooms.get(roomId) ?? []) member.send(out);
      ws.send(JSON.stringify({ type: 'reply', id: frame.id, ok: true }));
    }
  });
  ws.on('close', () => {
    for (const roomId of joined) rooms.get(roomId)?.delete(ws);
  });
});

httpServer.listen(port, host);

const stop = () => {
  wss.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
