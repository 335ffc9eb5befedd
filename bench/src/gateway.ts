/**
 * The plain-WebSocket gateway under the one-room fan-out: the same load through Switchboard's `/ws`
 * (auth frame, `subscribe`, `publish` requests, `message:new` events), through Switchboard's
 * Socket.IO `/chat` (the fan-out of fanout.ts), and through a bare `ws` relay
 * (ws-baseline-server.ts), each on a fresh server in the same run. The rate stays below the knee of
 * the sweep, so the comparison shows what each path costs in latency rather than whose backlog
 * grows faster. `/ws` is reported as ratios against both.
 */
import { createRoom, type Accounts } from './accounts.js';
import { runFanout, type FanoutSize, type LoadResult } from './fanout.js';
import { ratio } from './results.js';
import { withSwitchboard, withWsBaseline } from './servers.js';
import { summary } from './sweep.js';

export type GatewaySize = FanoutSize;

/** `/ws` ÷ another path, for one metric each. */
export interface GatewayRatios {
  /** Deliveries received ÷ expected, of `/ws` ÷ of the other. */
  delivered: number;
  p50: number;
  p99: number;
  deliveriesPerSecond: number;
  cpuSeconds: number;
}

export interface GatewayResult {
  /** Switchboard's `/ws`. */
  gateway: LoadResult;
  /** Switchboard's Socket.IO `/chat`. */
  chat: LoadResult;
  /** The bare `ws` relay. */
  bareWs: LoadResult;
  vsChat: GatewayRatios;
  vsBareWs: GatewayRatios;
}

/** Deliveries received ÷ expected. */
export const deliveredRatio = (r: LoadResult) => (r.expectedDeliveries === 0 ? 0 : Number((r.deliveries / r.expectedDeliveries).toFixed(4)));

function ratios(gateway: LoadResult, other: LoadResult): GatewayRatios {
  return {
    delivered: ratio(deliveredRatio(gateway), deliveredRatio(other)),
    p50: ratio(gateway.latencyMs.p50, other.latencyMs.p50),
    p99: ratio(gateway.latencyMs.p99, other.latencyMs.p99),
    deliveriesPerSecond: ratio(gateway.deliveriesPerSecond, other.deliveriesPerSecond),
    cpuSeconds: ratio(gateway.server.cpuSeconds, other.server.cpuSeconds),
  };
}

export async function runGateway(accounts: Accounts, size: GatewaySize, log: (line: string) => void): Promise<GatewayResult> {
  const onSwitchboard = (kind: 'switchboard' | 'gateway') =>
    withSwitchboard(accounts.dataDir, {}, async (server) => {
      const roomId = await createRoom(server.url, accounts.owner, 'bench');
      return runFanout(server, kind, roomId, accounts.tokens, size, log);
    });
  const chat = await onSwitchboard('switchboard');
  log(summary('/chat (Socket.IO)', chat));
  const gateway = await onSwitchboard('gateway');
  log(summary('/ws (plain WebSocket)', gateway));
  // The relay keeps rooms by name: any id will do.
  const bareWs = await withWsBaseline((server) => runFanout(server, 'ws-baseline', 'bench', [], size, log));
  log(summary('bare ws', bareWs));
  return { gateway, chat, bareWs, vsChat: ratios(gateway, chat), vsBareWs: ratios(gateway, bareWs) };
}
