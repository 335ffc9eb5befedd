/**
 * The bench's clock: CLOCK_MONOTONIC in microseconds. `process.hrtime` reads it, and on Linux it
 * is system-wide, so a send time stamped in one load worker can be subtracted in another.
 */
export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}
