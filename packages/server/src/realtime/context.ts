/** What the namespace modules are given: the domain services and the shared request machinery. */
import type { Logger } from 'pino';
import type { AuthService } from '../domain/auth.js';
import type { EventBus } from '../domain/bus.js';
import type { MessageService } from '../domain/messages.js';
import type { NodeMetrics } from '../domain/monitoring/metrics.js';
import type { MonitorService } from '../domain/monitoring/monitor.js';
import type { NotificationService } from '../domain/notifications.js';
import type { PresenceService } from '../domain/presence.js';
import type { RoomService } from '../domain/rooms.js';
import type { SearchService } from '../domain/search.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import type { TypingStore } from '../scale/typing-store.js';
import type { InFlight } from './in-flight.js';

export interface Services {
  auth: AuthService;
  presence: PresenceService;
  rooms: RoomService;
  messages: MessageService;
  notifications: NotificationService;
  search: SearchService;
}

export interface RealtimeContext {
  services: Services;
  bus: EventBus;
  limiter: RateLimiter;
  /** Who is typing where: this process's memory, or Redis in multi-node mode. */
  typing: TypingStore;
  log: Logger;
  inFlight: InFlight;
  /** Present unless MONITORING=off: what this process measures, and the cluster view (PROTOCOL §7). */
  monitoring?: { metrics: NodeMetrics; service: MonitorService } | undefined;
}
