/**
 * The gateway as a benchmark subject: a config file in a temp dir, `src/main.ts` in its own process, and
 * the admin views the scenarios poll.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, type Server, sleep, stopServer, until } from './proc.js';

/** A running gateway with its temp dir (outbox file, config). */
export interface Gateway extends Server {
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * Starts the gateway with `backends` (config-file shape) and one route `*` over them in `mode`. The outbox
 * is a fresh SQLite file. `nodeArgs` go to node (e.g. `--cpu-prof`).
 */
export async function startGateway(
  backends: Record<string, unknown>,
  options: {
    mode?: 'failover';
    nodeArgs?: string[];
    logLevel?: string;
    extra?: Record<string, unknown>;
  } = {},
): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    stringify({
      server: { host: '127.0.0.1', port: await freePort() },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db'), maxBytes: '4gb', retention: '1h' },
      backends,
      routes: [{ match: '*', backends: Object.keys(backends), mode: options.mode ?? 'failover' }],
      log: { level: options.logLevel ?? 'info' },
      ...options.extra,
    }),
  );
  const server = await spawnGateway(config, options.nodeArgs ?? []);
  return {
    ...server,
    dir,
    close: async () => {
      await stopServer(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET a JSON view of the gateway. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as T;
}

/** The outbox's depth (messages neither delivered nor dead), from `GET /v1/outbox`. */
export async function outboxDepth(gatewayUrl: string): Promise<number> {
  return (await getJson<{ depth: number }>(`${gatewayUrl}/v1/outbox`)).depth;
}

/** Resolves once the outbox is empty (every message acked by a broker), polling every 20 ms. */
export function drained(gatewayUrl: string, timeoutMs: number): Promise<void> {
  return until(async () => (await outboxDepth(gatewayUrl)) === 0, timeoutMs, 'outbox depth 0');
}

/** POSTs one batch; throws unless 202. */
export async function postBatch(gatewayUrl: string, topic: string, messages: unknown[]): Promise<void> {
  const res = await fetch(`${gatewayUrl}/v1/topics/${topic}/messages:batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
    signal: AbortSignal.timeout(60_000),
  });
  if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `src/main.ts` and resolves once `/healthz` answers (the log level may hide the listen line). */
async function spawnGateway(config: string, nodeArgs: string[]): Promise<Server> {
  const port = Number(/port: (\d+)/.exec(readFileSync(config, 'utf8'))![1]);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MQGATE_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000; // the shared machine can be slow to start tsx
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, output: () => out };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not answer /healthz within 60 s:\n${out}`);
    }
    await sleep(50);
  }
}
