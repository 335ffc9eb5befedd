/**
 * The game scenario's peer: Colyseus (`@colyseus/core` + `@colyseus/ws-transport`) running
 * Switchboard's own Light Cycles simulation and bots (packages/server/src/domain/game), one room
 * per game, its state a `@colyseus/schema` class updated every tick and patched to the room's
 * clients at the same 20 Hz. Only the transport and the state sync differ from Switchboard's
 * `/game`, so that is what the comparison measures.
 *
 * Like Switchboard's game, a room is a quad game: its client rides seat 0 and never steers, bots
 * ride the other three; when the game ends a new one starts in the same room. `/stats` answers how
 * long the rooms' ticks took since the last call (and clears it); `/readyz` mirrors Switchboard's.
 *
 * Environment: PORT, HOST (127.0.0.1).
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Room, Server, type Client } from '@colyseus/core';
import { ArraySchema, Schema, defineTypes } from '@colyseus/schema';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { GameLimits, type Direction, type GamePhase } from '@switchboard/protocol';
import { botTurn } from '../../packages/server/src/domain/game/bots.js';
import { Simulation } from '../../packages/server/src/domain/game/simulation.js';

const TICK_MS = 1000 / GameLimits.tickHz;

// Fields are declared, not initialized: `defineTypes` puts the tracking accessors on the prototype,
// which class field initializers would shadow.
export class CycleSchema extends Schema {
  declare seat: number;
  declare x: number;
  declare y: number;
  declare dir: Direction;
  declare alive: boolean;
}
defineTypes(CycleSchema, { seat: 'uint8', x: 'uint8', y: 'uint8', dir: 'string', alive: 'boolean' });

export class CyclesState extends Schema {
  declare tick: number;
  declare round: number;
  declare phase: GamePhase;
  declare cycles: ArraySchema<CycleSchema>;
  declare scores: ArraySchema<number>;
}
defineTypes(CyclesState, { tick: 'uint32', round: 'uint8', phase: 'string', cycles: [CycleSchema], scores: ['uint8'] });

/** Tick durations (ms) of every room since the last `/stats`, and ticks that ran late. */
const stats = { tickMs: [] as number[], late: 0 };

class CyclesRoom extends Room<CyclesState> {
  private sim = newSimulation();
  private lastTick = 0;

  override onCreate(): void {
    this.maxClients = 1;
    const state = new CyclesState();
    state.cycles = new ArraySchema<CycleSchema>();
    state.scores = new ArraySchema<number>();
    this.setState(state);
    this.sync();
    this.setPatchRate(TICK_MS);
    this.setSimulationInterval(() => this.step(), TICK_MS);
  }

  override onJoin(_client: Client): void {
    // The client rides seat 0 and never steers, like the bench's Switchboard clients.
  }

  private step(): void {
    const began = performance.now();
    if (this.lastTick > 0 && began - this.lastTick > 2 * TICK_MS) stats.late++;
    this.lastTick = began;
    for (let seat = 1; seat < this.sim.seats; seat++) {
      const turn = botTurn(this.sim, seat);
      if (turn) this.sim.input(seat, turn);
    }
    const result = this.sim.step();
    if (result.over) this.sim = newSimulation();
    this.sync();
    stats.tickMs.push(performance.now() - began);
  }

  /** Copies the simulation into the schema state; only what changed is sent in the next patch. */
  private sync(): void {
    const { state, sim } = this;
    state.tick = sim.tick;
    state.round = sim.round;
    state.phase = sim.phase;
    sim.cycleStates().forEach((c, i) => {
      let cycle = state.cycles[i];
      if (!cycle) {
        cycle = new CycleSchema();
        state.cycles.push(cycle);
      }
      cycle.seat = c.seat;
      cycle.x = c.x;
      cycle.y = c.y;
      cycle.dir = c.dir;
      cycle.alive = c.alive;
    });
    for (let seat = 0; seat < sim.seats; seat++) {
      const score = sim.scores[seat] ?? 0;
      if (state.scores[seat] !== score) state.scores[seat] = score;
    }
  }
}

function newSimulation(): Simulation {
  return new Simulation({ mode: 'quad', seed: Math.floor(Math.random() * 2 ** 31) });
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const httpServer = createServer((req, res) => {
  if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
  } else if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    stats.tickMs = [];
    stats.late = 0;
  } else {
    res.writeHead(404).end();
  }
});

const gameServer = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false });
gameServer.define('cycles', CyclesRoom);
await gameServer.listen(port, host);

