/**
 * WebSocket upgrades on the shared HTTP port. Socket.IO handles its own path (`/socket.io/`); the
 * plain-WebSocket endpoints (`/ws`, `/collab/:docId`) register here by path prefix, and an upgrade
 * for any other path is refused with 404 at once. Socket.IO is created with
 * `destroyUpgrade: false` (realtime/io.ts), so it leaves the other paths alone.
 *
 * Written by hand because Fastify's WebSocket plugin would put a second `ws` server behind
 * Fastify's routing for each endpoint, and this is the one place that decides which endpoint gets
 * an upgrade, for every transport alike.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over an upgrade request whose path starts with the route's prefix. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class UpgradeRouter {
  private readonly routes: { prefix: string; handler: UpgradeHandler }[] = [];

  constructor(
    server: HttpServer,
    /** Socket.IO's path, which its own listener serves. */
    private readonly socketIoPath: string,
  ) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.route(req, socket, head));
  }

  /** Routes upgrades for `prefix` (`/ws` matches `/ws` and `/ws?…`; `/collab/` matches `/collab/…`). */
  add(prefix: string, handler: UpgradeHandler): void {
    this.routes.push({ prefix, handler });
  }

  private route(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith(this.socketIoPath)) return;
    const route = this.routes.find(({ prefix }) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix));
    if (route) {
      route.handler(req, socket, head);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
}
