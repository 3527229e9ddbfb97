import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashApiKey } from '../../src/auth/authenticator.js';
import { eventually, type GatewayProcess, pool, startGatewayProcess } from '../helpers/gateway-process.js';
import { stackEnv } from '../helpers/stack-env.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;

// Secrets that must never show in a log line or in `config print`.
const PUBLISH_KEY = 'pk-Secr3t-publisher-7f1c2d';
const ADMIN_KEY = 'ak-Secr3t-admin-93be01';
const SASL_PASSWORD = 'sasl-Secr3t-pw-55aa';

function cli(args: string[], env: Record<string, string> = {}, stdin?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/main.ts'), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('operations against a child gateway (redis on the local stack)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-ops-'));
  const topic = `t-ops-${Date.now()}`;
  const config = {
    outbox: { driver: 'sqlite', path: join(dir, 'outbox.db') },
    server: { shutdownDelay: '1500ms' },
    backends: {
      redis: { type: 'redis', url: stackEnv().redisUrl, partitions: 2 },
      // Never routed to and unreachable: only here so that its password is in the config and logs.
      spare: {
        type: 'kafka',
        brokers: ['127.0.0.1:1'],
        sasl: { mechanism: 'plain', username: 'svc', password: SASL_PASSWORD },
      },
    },
    routes: [{ match: '*', backends: ['redis'] }],
    auth: {
      mode: 'apiKey',
      keys: [{ name: 'publisher', sha256: hashApiKey(PUBLISH_KEY) }],
      acl: [
        { principal: 'publisher', publish: ['t-ops-*'] },
        { principal: 'ops', admin: ['*'], publish: ['*'] },
      ],
    },
    rateLimit: { max: 10_000, window: '1s' },
    log: { level: 'info' },
  };
  // The admin key comes from the environment (MQGATE_API_KEYS replaces auth.keys).
  const env = {
    MQGATE_LOG_LEVEL: 'info',
    MQGATE_API_KEYS: `publisher:${hashApiKey(PUBLISH_KEY)},ops:${hashApiKey(ADMIN_KEY)}`,
  };
  let gw: GatewayProcess;
  const post = (key: string | undefined, body: unknown, t = topic) =>
    fetch(`${gw.url}/v1/topics/${t}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    gw = await startGatewayProcess(dir, config, 30_000, env);
  });
  afterAll(async () => {
    await gw?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates over the socket: 401, 403, 202; oversized headers are refused', async () => {
    expect((await post(undefined, { data: 1 })).status).toBe(401);
    expect((await post(PUBLISH_KEY, { data: 1 }, 'other')).status).toBe(403);
    expect((await post(PUBLISH_KEY, { data: 1 })).status).toBe(202);
    const big = await fetch(`${gw.url}/healthz`, { headers: { 'x-pad': 'x'.repeat(20_000) } });
    expect(big.status).toBe(431);
  });

  it('delivers to redis and shows it in /metrics', async () => {
    const res = await fetch(`${gw.url}/v1/topics/${topic}/messages?wait=delivered&timeout=10s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': PUBLISH_KEY },
      body: JSON.stringify({ key: 'k', data: { hello: 1 } }),
    });
    expect(res.status).toBe(201);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`mqgate_messages_accepted_total\\{topic="${topic}"\\} \\d+`));
    expect(text).toMatch(
      new RegExp(`mqgate_messages_delivered_total\\{topic="${topic}",backend="redis"\\} \\d+`),
    );
    expect(text).toMatch(/mqgate_relay_latency_seconds_count\{backend="redis"\} \d+/);
    expect(text).toMatch(/mqgate_backend_state\{backend="redis",type="redis"\} 0/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('the CLI publishes, reads the outbox, backends and DLQ, with exit codes', async () => {
    const base = { MQGATE_URL: gw.url };
    const pub = await cli(
      ['publish', topic, '--key', 'k1', '-t', 'application/json', '-'],
      { ...base, MQGATE_TOKEN: PUBLISH_KEY },
      '{"data":{"a":1}}',
    );
    expect(pub.code, pub.stderr).toBe(0);
    expect(JSON.parse(pub.stdout)).toMatchObject({ status: 'accepted' });
    const denied = await cli(['backends'], { ...base, MQGATE_TOKEN: PUBLISH_KEY });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('MQGATE_ERR_FORBIDDEN');
    const admin = { ...base, MQGATE_TOKEN: ADMIN_KEY };
    const backends = await cli(['backends'], admin);
    expect(backends.code, backends.stderr).toBe(0);
    expect(JSON.parse(backends.stdout).backends.map((b: { name: string }) => b.name)).toEqual([
      'redis',
      'spare',
    ]);
    const status = await cli(['outbox', 'status'], admin);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('depth');
    const list = await cli(['dlq', 'list', '--topic', topic], admin);
    expect(JSON.parse(list.stdout)).toEqual({ messages: [], next: null });
    const missing = await cli(['dlq', 'replay', 'no-such-id'], admin);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('MQGATE_ERR_NOT_FOUND');
    const unreachable = await cli(['backends', '--url', 'http://127.0.0.1:1'], {});
    expect(unreachable.code).toBe(3);
    expect((await cli(['frobnicate'], {})).code).toBe(64);
  });

  it('SIGTERM: readiness 503 while draining, in-flight publishes answered, exit 0; no secret in the log', async () => {
    expect((await fetch(`${gw.url}/readyz?verbose`)).status).toBe(200);
    let stop = false;
    const answers: number[] = [];
    const load = pool(400, 16, async (i) => {
      if (stop) return;
      try {
        answers.push((await post(PUBLISH_KEY, { key: `k${i % 8}`, data: i })).status);
      } catch {
        answers.push(-1);
      }
    });
    await eventually(async () => answers.length >= 50, 10_000, 'some publishes');
    const exited = gw.kill('SIGTERM');
    await eventually(async () => (await fetch(`${gw.url}/readyz`)).status === 503, 1_000, '/readyz 503');
    const draining = await post(PUBLISH_KEY, { data: 'late' });
    expect(draining.status).toBe(503);
    expect(((await draining.json()) as { code: string }).code).toBe('MQGATE_ERR_DRAINING');
    expect(draining.headers.get('retry-after')).toBe('1');
    stop = true;
    await load;
    expect(await exited).toBe(0);
    // Every request got an HTTP answer: accepted before the drain, 503 after it.
    expect(answers.filter((s) => s !== 202 && s !== 503)).toEqual([]);
    const out = gw.output();
    expect(out).toContain('"msg":"stopped"');
    for (const secret of [
      PUBLISH_KEY,
      ADMIN_KEY,
      SASL_PASSWORD,
      hashApiKey(PUBLISH_KEY),
      hashApiKey(ADMIN_KEY),
    ]) {
      expect(out).not.toContain(secret);
    }
  });

  it('`mqgate config print` masks every secret; `config validate` exits 2 on a bad file', async () => {
    const file = join(dir, 'print.yaml');
    writeFileSync(file, stringify(config));
    const printed = await cli(['config', 'print', '-c', file], {
      MQGATE_API_KEYS: env.MQGATE_API_KEYS,
    });
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('name: ops');
    for (const secret of [SASL_PASSWORD, hashApiKey(PUBLISH_KEY), hashApiKey(ADMIN_KEY)]) {
      expect(printed.stdout).not.toContain(secret);
    }
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ ...config, server: { port: 'x' } }));
    const invalid = await cli(['config', 'validate', '-c', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('server.port');
  });
});
