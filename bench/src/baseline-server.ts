/**
 * The baseline every Switchboard number is compared with: a bare Socket.IO server doing the least
 * a chat relay can do. Clients join rooms (any number, by id); `send` is broadcast to the room as
 * `new` and acknowledged. No auth, no validation, no storage, no ordering guarantees. It runs in its own
 * process (started by bench/src/procs.ts) with the same Socket.IO settings as Switchboard's
 * defaults, so the difference measured is what Switchboard does, not how it is configured.
 *
 * Environment: PORT, HOST (127.0.0.1), WS_COMPRESSION (`on` turns permessage-deflate on).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

export interface BaselineMessage {
  id: string;
  roomId: string;
  senderId: string;
  clientMsgId: string;
  text: string;
  createdAt: number;
}

export interface BaselineSendInput {
  roomId: string;
  clientMsgId: string;
  text: string;
}

export type BaselineAck = (answer: { ok: true; id?: string }) => void;

export interface BaselineClientToServer {
  /** Subscribes the socket to every room named, as Switchboard subscribes a socket to its user's rooms. */
  join: (roomIds: string[], ack: BaselineAck) => void;
  send: (payload: BaselineSendInput, ack: BaselineAck) => void;
}

export interface BaselineServerToClient {
  new: (message: BaselineMessage) => void;
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

// `/readyz` mirrors Switchboard's readiness probe so the bench waits for both servers the same way.
const httpServer = createServer((req, res) => {
  if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
  } else {
    res.writeHead(404).end();
  }
});

const io = new Server<BaselineClientToServer, BaselineServerToClient>(httpServer, {
  serveClient: false,
  perMessageDeflate: process.env.WS_COMPRESSION === 'on' ? { threshold: 1024 } : false,
});

let nextId = 0;
io.of('/chat').on('connection', (socket) => {
  socket.on('join', (roomIds, ack) => {
    void socket.join(roomIds);
    ack({ ok: true });
  });
  socket.on('send', ({ roomId, clientMsgId, text }, ack) => {
    const id = String(++nextId);
    io.of('/chat').to(roomId).emit('new', { id, roomId, senderId: socket.id, clientMsgId, text, createdAt: Date.now() });
    ack({ ok: true, id });
  });
});

httpServer.listen(port, host);

const stop = () => {
  void io.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
