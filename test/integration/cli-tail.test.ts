import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createBackend } from '../../adapters/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { Envelope } from '../../src/envelope.js';
import type { Backend } from '../../src/ports/backend.js';
import { keyedEnvelopes } from '../helpers/sdk-member.js';
import { cleanRedis, rawConfig, redisEntry } from '../helpers/sdk-stack.js';
import { stackEnv } from '../helpers/stack-env.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
const BOUND_MS = 60_000;

interface TailProcess {
  readonly child: ChildProcess;
  readonly lines: () => Record<string, unknown>[];
  waitFor(what: string, pred: () => boolean): Promise<void>;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startTail(args: string[]): TailProcess {
  const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/main.ts'), 'tail', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of waiters) w();
  };
  child.stdout!.on('data', (d) => {
    out += d;
    poke();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    poke();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    lines,
    stderr: () => err,
    exit,
    waitFor: (what, pred) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; stdout: ${out}; stderr: ${err}`));
        }, BOUND_MS);
        waiters.add(check);
        void exit.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`tail exited while waiting for ${what}; stderr: ${err}`));
          }
        });
        check();
      }),
  };
}

describe('mqgate tail (child process, Redis on the stack)', () => {
  let url: string;
  let publisher: Backend;
  let dir: string;
  let file: string;
  const topics: string[] = [];
  const groups: string[] = [];

  const names = () => {
    const topic = `tail-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic);
    groups.push(group);
    return { topic, group };
  };

  beforeAll(async () => {
    url = stackEnv().redisUrl;
    const raw = rawConfig({ redis: redisEntry(url) });
    publisher = await createBackend(parseConfig(raw).backends.redis!, pino({ level: 'silent' }));
    await publisher.connect();
    dir = mkdtempSync(join(tmpdir(), 'cli-tail-'));
    file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(raw));
  });

  afterAll(async () => {
    await publisher?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (url) await cleanRedis(url, topics, groups);
  });

  async function publish(envelopes: Envelope[]): Promise<void> {
    const outcomes = await publisher.publish(envelopes);
    expect(outcomes.every((o) => o.ok)).toBe(true);
  }

  it('--from-beginning prints every message as one JSON line, and exits 0 on SIGINT', async () => {
    const { topic, group } = names();
    const sent = keyedEnvelopes(topic, 2, 2);
    sent[0] = { ...sent[0]!, headers: { tenant: 't1' } };
    await publish(sent);
    const tail = startTail([topic, '--group', group, '--from-beginning', '-c', file]);
    await tail.waitFor('4 lines', () => tail.lines().length >= 4);
    const lines = tail.lines();
    expect(lines.map((l) => l.id).sort()).toEqual(sent.map((e) => e.id).sort());
    expect(lines.find((l) => l.id === sent[0]!.id)).toEqual({
      id: sent[0]!.id,
      topic,
      key: 'k0',
      seq: 1,
      backend: 'redis',
      headers: { tenant: 't1' },
      data: { k: 0, seq: 1 },
    });
    // Per key in seq order.
    for (const key of ['k0', 'k1']) {
      expect(lines.filter((l) => l.key === key).map((l) => l.seq)).toEqual([1, 2]);
    }
    tail.child.kill('SIGINT');
    expect(await tail.exit).toBe(0);
  });

  it('without --from-beginning prints only messages stamped after it started', async () => {
    const { topic, group } = names();
    const [old] = keyedEnvelopes(topic, 1, 1, 1, `${topic}-old`);
    await publish([{ ...old!, time: new Date(Date.now() - 3_600_000).toISOString() }]);
    const tail = startTail([topic, '--group', group, '-c', file]);
    await tail.waitFor('the ready line', () => tail.stderr().includes('consuming'));
    const [fresh] = keyedEnvelopes(topic, 1, 1, 2, `${topic}-new`);
    await publish([{ ...fresh!, time: new Date(Date.now() + 1_000).toISOString() }]);
    await tail.waitFor('the fresh line', () => tail.lines().length >= 1);
    expect(tail.lines().map((l) => l.id)).toEqual([fresh!.id]);
    tail.child.kill('SIGINT');
    expect(await tail.exit).toBe(0);
  });
});
