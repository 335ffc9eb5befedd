/**
 * @switchboard/protocol — the wire contract shared by the Switchboard server and every client.
 * No Node-only code lives here: it runs in browsers too.
 */
export * from './errors.js';
export * from './limits.js';
export * from './models.js';
export * from './schemas.js';
export * from './events.js';
export * from './files.js';
export * from './monitor.js';
export * from './game.js';
export * from './game-ticks.js';
export * from './documents.js';
export * from './gateway.js';
export * from './bots.js';
export * from './accounts.js';
export * from './search.js';
