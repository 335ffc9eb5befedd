/** The measured servers' lifecycles: each measurement gets a fresh process, stopped afterwards. */
import { copyDir, removeDir, startBaseline, startSwitchboard, startWsBaseline, type ServerProcess, type SwitchboardEnv } from './procs.js';

/** Starts Switchboard on a fresh copy of `dataDir` (accounts, perhaps rooms), runs `body`, stops it. */
export async function withSwitchboard<T>(
  dataDir: string,
  env: Omit<SwitchboardEnv, 'DATA_DIR'>,
  body: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const copy = copyDir(dataDir, 'switchboard-bench-');
  try {
    const server = await startSwitchboard({ ...env, DATA_DIR: copy });
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  } finally {
    removeDir(copy);
  }
}

export async function withBaseline<T>(body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startBaseline();
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

/** The bare-WebSocket baseline (bench/src/ws-baseline-server.ts), for the gateway scenario. */
export async function withWsBaseline<T>(body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startWsBaseline();
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}
