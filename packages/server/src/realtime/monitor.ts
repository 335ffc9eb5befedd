/**
 * The `/monitor` namespace (PROTOCOL §7), admins only (the handshake refuses others with
 * FORBIDDEN): the cluster snapshot every second, history, alert rules, alerts as they fire and
 * resolve, and error groups. Also carries each node's monitoring report to the other nodes.
 */
import type { Namespace } from 'socket.io';
import type { EventBus } from '../domain/bus.js';
import type { MonitorService } from '../domain/monitoring/monitor.js';
import { bindSession, renewSession } from './connection.js';
import type { NamespaceSetup } from './io.js';
import { serveRequests } from './requests.js';
import type { IoServer, MonitorNamespace, MonitorSocket } from './types.js';

export const setupMonitor: NamespaceSetup = (io, ctx) => {
  const nsp = io.of('/monitor') as unknown as MonitorNamespace;
  const { bus, services } = ctx;
  const monitor = ctx.monitoring?.service;
  if (!monitor) throw new Error('the /monitor namespace needs the monitoring service');

  // Every node sees the whole cluster: each tells its own admin sockets.
  bus.on('monitor.snapshot', (snapshot) => {
    nsp.local.emit('monitor:snapshot', snapshot);
  });
  // Only the leader evaluates alerts: its emits reach every node's admin sockets.
  bus.on('alert.firing', (alert) => {
    nsp.emit('alert:firing', alert);
  });
  bus.on('alert.resolved', (alert) => {
    nsp.emit('alert:resolved', alert);
  });

  const attach = serveRequests<'/monitor', MonitorSocket>(
    '/monitor',
    {
      'auth:renew': ({ token }, socket) => renewSession(services.auth, socket, token),
      'monitor:history': (input) => monitor.history(input),
      'alert:rules': () => monitor.rules(),
      'alert:rule:set': (input) => monitor.setRule(input),
      'alert:rule:delete': ({ id }) => monitor.deleteRule(id),
      'errors:list': (input) => monitor.errors(input?.limit),
    },
    ctx,
  );

  nsp.on('connection', (socket: MonitorSocket) => {
    bindSession(socket);
    attach(socket);
    // The current figures at once, rather than up to a second later.
    socket.emit('monitor:snapshot', monitor.snapshot());
  });

  return nsp as unknown as Namespace;
};

/**
 * Carries this node's reports to the other processes of the deployment and theirs to it, as
 * server-side events of the Socket.IO adapter (over Redis, or through the cluster primary). A
 * single process has nobody to tell.
 */
export function shareMonitorReports(io: IoServer, monitor: MonitorService, bus: EventBus): void {
  io.on('monitor:report', (report) => monitor.receive(report));
  io.on('monitor:left', (nodeId) => monitor.left(nodeId));
  bus.on('monitor.report', (report) => {
    io.serverSideEmit('monitor:report', report);
  });
  bus.on('monitor.left', ({ nodeId }) => {
    io.serverSideEmit('monitor:left', nodeId);
  });
}
