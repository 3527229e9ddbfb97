import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/index.js';
import { parseWait } from '../../src/http/wait-query.js';
import { testApp } from './test-app.js';

/**
 * What deployment files (docker-compose.yml, deploy/kubernetes) must agree with, read from the gateway itself
 * rather than restated: how long its drain may take, and which ops paths it answers.
 */

/** The longest `?wait=delivered&timeout=` a publish may ask for, found by asking `parseWait`. */
export function maxWaitMs(): number {
  let seconds = 1;
  for (; seconds < 3600; seconds++) {
    try {
      parseWait({ wait: 'delivered', timeout: `${seconds + 1}s` });
    } catch {
      return seconds * 1000;
    }
  }
  throw new Error('parseWait accepts waits of an hour or more: the drain budget below is no longer bounded');
}

/** The `timeoutMs` that src/serve.ts gives `gateway.close()` on SIGTERM. */
export function closeTimeoutMs(): number {
  const source = readFileSync(join(packageRoot(), 'src', 'serve.ts'), 'utf8');
  const m = /gateway\s*\.close\(\{\s*timeoutMs:\s*([\d_]+)\s*\}\)/.exec(source);
  if (!m) throw new Error('src/serve.ts no longer calls gateway.close({ timeoutMs: N }): update this check');
  return Number(m[1]!.replace(/_/g, ''));
}

/**
 * The longest a SIGTERM drain can take (src/gateway.ts `#close`): `server.shutdownDelay`, then the listener
 * closes once the requests in flight are answered (a `?wait=delivered` publish: up to `maxWaitMs`), then push
 * subscriptions, the relay's batches in flight, the backends and the outbox (the Postgres driver's group
 * commits in flight), each bounded by the close timeout, one after the other.
 */
export function drainBudgetMs(shutdownDelayMs: number): number {
  return shutdownDelayMs + maxWaitMs() + 4 * closeTimeoutMs();
}

/** The status of `GET path` on the gateway's HTTP app (real routes over a temp SQLite outbox, no brokers). */
export async function statusOf(paths: readonly string[]): Promise<Record<string, number>> {
  const t = await testApp();
  try {
    const out: Record<string, number> = {};
    for (const path of paths) out[path] = (await t.app.inject({ method: 'GET', url: path })).statusCode;
    return out;
  } finally {
    await t.close();
  }
}

/** Seconds of a Compose duration (`100s`, `1m30s`, `500ms`). */
export function composeSeconds(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s|us)/g;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 }[m[2] as 'h' | 'm' | 's' | 'ms' | 'us'] * n;
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a Compose duration: ${text}`);
  return total;
}
