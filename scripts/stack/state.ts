import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stateFile } from './paths.js';
import type { Mode } from './service.js';

/** What the stack remembers about a process it started. */
export interface ProcessRecord {
  pid: number;
  /** /proc start time, so that a reused pid is never mistaken for ours. */
  startTime: string;
  mode: Mode;
  version: string;
  startedAt: string;
}

export interface StackState {
  services: Record<string, ProcessRecord>;
}

export function readState(): StackState {
  if (!existsSync(stateFile)) return { services: {} };
  try {
    const parsed = JSON.parse(readFileSync(stateFile, 'utf8')) as Partial<StackState>;
    return { services: parsed.services ?? {} };
  } catch {
    return { services: {} };
  }
}

function writeState(state: StackState): void {
  mkdirSync(dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile);
}

let queue: Promise<unknown> = Promise.resolve();

/** Read-modify-write of the state file, serialized within this process (services start in parallel). */
export function updateState(change: (state: StackState) => void): Promise<void> {
  const next = queue.then(() => {
    const state = readState();
    change(state);
    writeState(state);
  });
  queue = next.catch(() => undefined);
  return next;
}
