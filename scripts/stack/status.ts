import { describe } from './lifecycle.js';
import { allServices } from './registry.js';
import type { ServiceStatus } from './service.js';
import { readState } from './state.js';

/**
 * State of the services of every mode the stack has started (the single-node ones when it has started
 * nothing), plus epmd when it was started.
 */
export function stackStatus(): ServiceStatus[] {
  const known = readState().services;
  const modes = new Set(
    allServices()
      .filter((s) => known[s.name])
      .map((s) => s.mode),
  );
  if (![...modes].some((m) => m !== 'shared')) modes.add('single');
  return allServices()
    .filter((s) => modes.has(s.mode))
    .map(describe);
}

/** A fixed-width table for the terminal. */
export function formatStatus(rows: ServiceStatus[]): string {
  const header = ['SERVICE', 'STATE', 'VERSION', 'PID', 'URL', 'LOG'];
  const cells = rows.map((r) => [
    r.name,
    r.state,
    r.version ?? '-',
    r.pid ? String(r.pid) : '-',
    r.url,
    r.logFile,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
