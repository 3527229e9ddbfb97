/** The machine a run is on, and where its results are written. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './proc.js';

/** What the results file says about the machine. */
export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The 1, 5 and 15 minute load averages, 2 decimals: other processes share this machine. */
export function load(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * Writes bench/results/<date>[-quick].json, or `out` when given (several runs on one machine the same day
 * would otherwise overwrite each other's file), and returns its path.
 */
export function writeResults(result: Record<string, unknown>, quick: boolean, out?: string): string {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = out ?? join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
