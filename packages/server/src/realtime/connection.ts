/**
 * What every namespace does for every socket: handshake authentication, the user/session
 * channels, access-token expiry (`auth:expired`) and renewal (`auth:renew`), presence, and
 * refusing new handshakes while the node drains.
 */
import { ErrorCode, Namespace } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { AuthService } from '../domain/auth.js';
import { AppError } from '../domain/errors.js';
import type { PresenceService } from '../domain/presence.js';
import { channel, type SocketData } from './types.js';

type AnyIoSocket = Socket<never, never, never, SocketData>;

/** Namespaces only admins may join; others are refused with FORBIDDEN. */
export const ADMIN_NAMESPACES = new Set<string>([Namespace.monitor]);

/**
 * Handshake middleware: `auth.token` must be a valid access token of an active login, and an
 * admin's for an admin namespace. `onResult` hears `ok` or the refusing error code.
 */
export function handshake(auth: AuthService, isDraining: () => boolean, onResult?: (namespace: string, result: string) => void) {
  return (socket: AnyIoSocket, next: (err?: Error) => void) => {
    const finish = (code?: ErrorCode) => {
      onResult?.(socket.nsp.name, code ?? 'ok');
      next(code === undefined ? undefined : new Error(code));
    };
    if (isDraining()) return finish(ErrorCode.UNAVAILABLE);
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      return finish(ErrorCode.UNAUTHENTICATED);
    }
    auth
      .verify(token)
      .then(async (principal) => {
        const user = await auth.me(principal.userId);
        if (ADMIN_NAMESPACES.has(socket.nsp.name) && user.role !== 'admin') return finish(ErrorCode.FORBIDDEN);
        socket.data = {
          userId: principal.userId,
          sessionId: principal.sessionId,
          role: user.role,
          displayName: user.displayName,
          username: user.username,
          expiresAt: principal.expiresAt,
        };
        finish();
      })
      .catch((err: unknown) => {
        finish(err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED ? err.code : ErrorCode.UNAVAILABLE);
      });
  };
}

/** Each socket's access-token expiry timer (kept off `socket.data`, which adapters serialize). */
const expiryTimers = new WeakMap<AnyIoSocket, NodeJS.Timeout>();

function armExpiry(socket: AnyIoSocket): void {
  clearTimeout(expiryTimers.get(socket));
  const timer = setTimeout(() => {
    // The emit is queued before the close packet, so the client sees why it was dropped.
    (socket as unknown as Socket).emit('auth:expired', {});
    socket.disconnect(true);
  }, Math.max(0, socket.data.expiresAt - Date.now()));
  expiryTimers.set(socket, timer);
}

/**
 * Ties a freshly connected socket to its login: its user and session channels (a revoked login
 * disconnects the session channel) and the timer that disconnects it when its access token
 * expires unless renewed (`renewSession`).
 */
export function bindSession(socket: AnyIoSocket): void {
  void socket.join([channel.user(socket.data.userId), channel.session(socket.data.sessionId)]);
  armExpiry(socket);
  socket.on('disconnect', () => clearTimeout(expiryTimers.get(socket)));
}

/** `bindSession`, and the socket counts for its user's presence while it is connected. */
export function attachSession(socket: AnyIoSocket, deps: { presence: PresenceService; log: Logger }): void {
  const { userId } = socket.data;
  bindSession(socket);
  deps.presence.connected(userId, socket.id).catch((err: unknown) => deps.log.error({ err }, 'presence connect failed'));
  socket.on('disconnect', () => {
    deps.presence
      .disconnected(userId, socket.id)
      .catch((err: unknown) => deps.log.error({ err }, 'presence disconnect failed'));
  });
}

/** `auth:renew`: a newer access token of the same user moves the socket's expiry (and login) forward. */
export async function renewSession(auth: AuthService, socket: AnyIoSocket, token: string): Promise<object> {
  const principal = await auth.verify(token);
  if (principal.userId !== socket.data.userId) {
    throw new AppError(ErrorCode.UNAUTHENTICATED, 'token belongs to another user');
  }
  if (principal.sessionId !== socket.data.sessionId) {
    await socket.leave(channel.session(socket.data.sessionId));
    await socket.join(channel.session(principal.sessionId));
  }
  socket.data.sessionId = principal.sessionId;
  socket.data.expiresAt = Math.max(socket.data.expiresAt, principal.expiresAt);
  armExpiry(socket);
  return {};
}
