import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway.js';
import { publishMany } from '../helpers/pull-client.js';
import { stackEnv } from '../helpers/stack-env.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Runs a Python example; resolves with its JSON stdout lines once `until` says enough, or rejects. */
function runPython(args: string[]) {
  const child: ChildProcess = spawn('python3', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const until = (enough: () => boolean, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`example timed out; stderr:\n${stderr}`)), timeoutMs);
      const check = () => {
        if (enough()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { child, lines, until, exited, kill: () => child.exitCode === null && child.kill('SIGTERM') };
}

describe('examples/ in Python against a gateway', () => {
  let gateway: Gateway;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-examples-'));

  beforeAll(async () => {
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db') },
      backends: { redis: { type: 'redis', url: stackEnv().redisUrl, partitions: 2 } },
      routes: [{ match: '*', backends: ['redis'] }],
      relay: { pollInterval: '10ms' },
    });
    gateway = await Gateway.create(config, { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pull_consumer.py claims, handles and acknowledges every message', async () => {
    const topic = `t-ex-pull-${randomUUID()}`;
    const ids = await publishMany(url, topic, 'x', 7, 2);
    const py = runPython([
      'examples/pull_consumer.py',
      ...['--gateway', url, '--group', 'py-pull', '--topic', topic, '--max', '3', '--count', '7'],
    ]);
    try {
      expect(await py.exited).toBe(0);
      expect(new Set(py.lines.map((l) => l.id))).toEqual(new Set(ids));
      const res = await fetch(`${url}/v1/groups/py-pull/topics/${topic}:claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ max: 10, leaseMs: 1000 }),
      });
      expect(((await res.json()) as { messages: unknown[] }).messages).toEqual([]);
    } finally {
      py.kill();
    }
  }, 90_000);

  it('push_endpoint.py receives every message of a subscription as a CloudEvent', async () => {
    const topic = `t-ex-push-${randomUUID()}`;
    const py = runPython(['examples/push_endpoint.py', '--port', '0']);
    try {
      await py.until(() => py.lines.length > 0, 30_000);
      const port = py.lines[0]!.listening as number;
      const res = await fetch(`${url}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `py-${randomUUID().slice(0, 8)}`,
          topics: [topic],
          endpoint: `http://127.0.0.1:${port}/events`,
        }),
      });
      expect(res.status).toBe(201);
      const ids = await publishMany(url, topic, 'y', 5, 2);
      await py.until(() => new Set(py.lines.slice(1).map((l) => l.id)).size >= ids.length, 60_000);
      const events = py.lines.slice(1);
      expect(new Set(events.map((l) => l.id))).toEqual(new Set(ids));
      expect(events[0]).toMatchObject({ contentType: 'application/json', data: { i: expect.any(Number) } });
    } finally {
      py.kill();
    }
  }, 90_000);
});
