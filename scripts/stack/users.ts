import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './lifecycle.js';
import { withStackLock } from './lock.js';
import { stackDir } from './paths.js';
import { isAlive } from './proc.js';
import { runningModes, stackDown, stackUp } from './stack.js';

/**
 * Shared use of the single-node stack by concurrent test runs (several engineers on one machine). Each run
 * registers its pid under .stack/users/; the stack is stopped by the last run to leave, and only when a
 * test run started it (a stack brought up by hand with `npm run stack -- up` stays up).
 */
const usersDir = join(stackDir, 'users');
const startedByTests = join(usersDir, 'started-by-tests');

function liveUsers(): number[] {
  if (!existsSync(usersDir)) return [];
  return readdirSync(usersDir)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid));
}

/** Starts the single-node stack if needed and registers this process as a user. Returns its settings. */
export function stackAcquire(log: Log = () => undefined): Promise<Record<string, string>> {
  return withStackLock(async () => {
    mkdirSync(usersDir, { recursive: true });
    if (!runningModes().single) writeFileSync(startedByTests, String(process.pid));
    const env = await stackUp({ log });
    writeFileSync(join(usersDir, String(process.pid)), '');
    return env;
  });
}

/**
 * Unregisters this process. Stops the single-node stack when no other run uses it and a test run started
 * it, unless `keep` (then it stays up as if started by hand).
 */
export function stackRelease(opts: { keep?: boolean; log?: Log } = {}): Promise<'stopped' | 'left running'> {
  return withStackLock(async () => {
    rmSync(join(usersDir, String(process.pid)), { force: true });
    if (opts.keep) rmSync(startedByTests, { force: true });
    if (liveUsers().length > 0 || !existsSync(startedByTests)) return 'left running';
    rmSync(startedByTests, { force: true });
    await stackDown({ mode: 'single', log: opts.log });
    return 'stopped';
  });
}
