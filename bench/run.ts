/**
 * `npm run bench [-- --quick]`: the gateway's durable publish against a bare Fastify route under the same
 * load, in one run so that the ratio means something on a shared machine. The load generator (autocannon)
 * runs as its own process. Each scenario runs several times; the table shows median, min and max.
 *
 * Scenarios so far: (1) single-message HTTP publish at 50 connections, req/s and latency p50/p99, with the
 * gateway's RSS; the relay delivers to the local stack's Redis while the load runs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stackUp } from '../scripts/stack/index.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const DURATION_S = quick ? 5 : 15;
const CONNECTIONS = 50;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  rssMb?: number;
}

function startServer(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[0] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited ${code}:\n${out}`)));
  });
}

async function rssMb(pid: number): Promise<number> {
  const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Math.round(Number(stdout.trim()) / 1024);
}

async function load(url: string, pid: number): Promise<Sample> {
  const body = JSON.stringify({ key: 'k', data: { order: 42, items: ['a', 'b'] } });
  let peak = 0;
  const sampler = setInterval(() => {
    rssMb(pid).then(
      (r) => (peak = Math.max(peak, r)),
      () => {},
    );
  }, 500);
  const { stdout } = await run(
    join(ROOT, 'node_modules/.bin/autocannon'),
    [
      '-j',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(DURATION_S),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      body,
      `${url}/v1/topics/bench.orders/messages`,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  clearInterval(sampler);
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  };
  if (r.non2xx > 0) throw new Error(`${r.non2xx} answers were not 2xx`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, rssMb: peak };
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
}

async function main(): Promise<void> {
  const env = await stackUp({ log: () => {} });
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      `outbox: { driver: sqlite, path: ${join(dir, 'outbox.db')}, maxBytes: 2gb, retention: 1h }`,
      `backends: { redis: { type: redis, url: "${env.MQGATE_REDIS_URL}", partitions: 6 } }`,
      'routes: [ { match: "*", backends: [redis], mode: failover } ]',
      'log: { level: info }',
    ].join('\n'),
  );
  const bare: Sample[] = [];
  const gateway: Sample[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const b = await startServer(['bench/servers/bare.ts'], { PATH: process.env.PATH });
      bare.push(await load(b.url, b.child.pid!));
      b.child.kill('SIGKILL');
      const g = await startServer(['src/main.ts'], { PATH: process.env.PATH, MQGATE_CONFIG: config });
      gateway.push(await load(g.url, g.child.pid!));
      g.child.kill('SIGTERM');
      await new Promise((r) => g.child.once('exit', r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = {
    bare: {
      rps: stats(bare.map((s) => s.rps)),
      p50: stats(bare.map((s) => s.p50)),
      p99: stats(bare.map((s) => s.p99)),
    },
    gateway: {
      rps: stats(gateway.map((s) => s.rps)),
      p50: stats(gateway.map((s) => s.p50)),
      p99: stats(gateway.map((s) => s.p99)),
      rssMb: stats(gateway.map((s) => s.rssMb ?? 0)),
    },
  };
  const ratio = rows.gateway.rps.median / rows.bare.rps.median;
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    scenario1: { connections: CONNECTIONS, durationS: DURATION_S, rounds: ROUNDS, ...rows, ratio },
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, `bench/results/${result.date.slice(0, 10)}${quick ? '-quick' : ''}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  const f = (s: { median: number; min: number; max: number }) => `${s.median} (${s.min}-${s.max})`;
  console.log(`scenario 1: single-message publish, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION_S}s`);
  console.log(
    `  bare fastify   req/s ${f(rows.bare.rps)}  p50 ${f(rows.bare.p50)} ms  p99 ${f(rows.bare.p99)} ms`,
  );
  console.log(
    `  mqgate durable req/s ${f(rows.gateway.rps)}  p50 ${f(rows.gateway.p50)} ms  p99 ${f(rows.gateway.p99)} ms  RSS ${f(rows.gateway.rssMb)} MB`,
  );
  console.log(`  ratio (gateway / bare, medians): ${ratio.toFixed(2)}x (target 0.8x)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
