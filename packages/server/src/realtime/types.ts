/** Socket.IO generics for Switchboard's namespaces, from the protocol's event maps. */
import type { Namespace as IoNamespace, Server, Socket } from 'socket.io';
import type { NodeReport } from '../domain/monitoring/cluster-view.js';
import type { FeedEvent } from './feed.js';
import type {
  ChatClientToServer,
  ChatServerToClient,
  CommonClientToServer,
  CommonServerToClient,
  GameClientToServer,
  GameServerToClient,
  MonitorClientToServer,
  MonitorServerToClient,
  NotificationsClientToServer,
  NotificationsServerToClient,
  Role,
} from '@switchboard/protocol';

/** What the handshake learns and every handler may read. */
export interface SocketData {
  userId: string;
  sessionId: string;
  role: Role;
  displayName: string;
  username: string;
  /** Access-token expiry, ms since the epoch. */
  expiresAt: number;
}

/** Events between the processes of a deployment (`serverSideEmit`), besides the adapter's broadcasts. */
export interface InterServerEvents {
  /** A membership ended: forget it in the membership cache (see realtime/membership-drops.ts). */
  'membership:ended': (roomId: string, userId: string) => void;
  /** A node's monitoring report of the last second (realtime/monitor.ts). */
  'monitor:report': (report: NodeReport) => void;
  /** A node shut down cleanly. */
  'monitor:left': (nodeId: string) => void;
  /** A document update this node stored (base64), for the nodes that hold the document (realtime/collab.ts). */
  'collab:update': (docId: string, update: string) => void;
  /** An awareness change of a document's clients on this node (base64 y-protocols awareness update). */
  'collab:awareness': (docId: string, update: string) => void;
  /** `/collab` connections to close: a login ended, a member left a room, a document was deleted. */
  'collab:close': (target: CollabCloseTarget) => void;
  /** A room was archived or unarchived: its documents' connections turn read-only or writable (realtime/collab.ts). */
  'collab:archived': (roomId: string, archived: boolean) => void;
  /** An event for the plain-WebSocket and SSE connections of every node (realtime/feed.ts). */
  'feed:event': (event: FeedEvent) => void;
}

/** Which `/collab` connections to close, and so with which code (4401, 4403, 4404). */
export type CollabCloseTarget = { sessionId: string } | { roomId: string; userId: string } | { docId: string };

export type IoServer = Server<CommonClientToServer, CommonServerToClient, InterServerEvents, SocketData>;
export type ChatNamespace = IoNamespace<ChatClientToServer, ChatServerToClient, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ChatClientToServer, ChatServerToClient, InterServerEvents, SocketData>;
export type NotificationsNamespace = IoNamespace<
  NotificationsClientToServer,
  NotificationsServerToClient,
  InterServerEvents,
  SocketData
>;
export type NotificationsSocket = Socket<
  NotificationsClientToServer,
  NotificationsServerToClient,
  InterServerEvents,
  SocketData
>;
export type MonitorNamespace = IoNamespace<MonitorClientToServer, MonitorServerToClient, InterServerEvents, SocketData>;
export type MonitorSocket = Socket<MonitorClientToServer, MonitorServerToClient, InterServerEvents, SocketData>;
export type GameNamespace = IoNamespace<GameClientToServer, GameServerToClient, InterServerEvents, SocketData>;
export type GameSocket = Socket<GameClientToServer, GameServerToClient, InterServerEvents, SocketData>;
export type AnySocket = Socket<CommonClientToServer, CommonServerToClient, InterServerEvents, SocketData>;

/** Room names used on every namespace. */
export const channel = {
  user: (userId: string) => `user:${userId}`,
  session: (sessionId: string) => `session:${sessionId}`,
  room: (roomId: string) => `room:${roomId}`,
};
