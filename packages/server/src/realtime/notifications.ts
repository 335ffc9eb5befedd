/**
 * The `/notifications` namespace (PROTOCOL §4.2): the unread count on connect, `notification:new`
 * and `notification:unread` pushed to all of a user's sockets as they change, and the list and
 * read requests through the shared pipeline.
 */
import type { Namespace } from 'socket.io';
import { attachSession, renewSession } from './connection.js';
import type { NamespaceSetup } from './io.js';
import { serveRequests } from './requests.js';
import { channel, type NotificationsNamespace, type NotificationsSocket } from './types.js';

export const setupNotifications: NamespaceSetup = (io, ctx) => {
  const nsp = io.of('/notifications') as unknown as NotificationsNamespace;
  const { bus, services, log } = ctx;
  const { notifications } = services;

  bus.on('notification.created', ({ userId, notification }) => {
    nsp.to(channel.user(userId)).emit('notification:new', notification);
  });
  bus.on('notification.unread', ({ userId, count }) => {
    nsp.to(channel.user(userId)).emit('notification:unread', { count });
  });

  const attach = serveRequests<'/notifications', NotificationsSocket>(
    '/notifications',
    {
      'auth:renew': ({ token }, socket) => renewSession(services.auth, socket, token),
      'notification:list': (input, socket) => notifications.list(socket.data.userId, input),
      'notification:read': (input, socket) => notifications.markRead(socket.data.userId, input),
    },
    ctx,
  );

  nsp.on('connection', (socket: NotificationsSocket) => {
    const { userId } = socket.data;
    // Joins the user channel synchronously, so no push can fall between this count and the socket.
    attachSession(socket, { presence: services.presence, log });
    notifications
      .unreadCount(userId)
      .then((count) => socket.emit('notification:unread', { count }))
      .catch((err: unknown) => log.error({ err, userId }, 'could not send the unread notification count'));
    attach(socket);
  });

  return nsp as unknown as Namespace;
};
