import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import type { Backend } from '../../src/ports/backend.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
const FIXTURE = join(ROOT, 'test/fixtures/sdk-consumer.ts');

/** One line printed by test/fixtures/sdk-consumer.ts. */
export interface Line {
  pid: number;
  t: number;
  ev: string;
  id?: string;
  key?: string;
  seq?: number;
  backend?: string;
  partition?: number;
  assigned?: { topic: string; partition: number }[];
  revoked?: { topic: string; partition: number }[];
  error?: string;
}

/** Settings of test/fixtures/sdk-consumer.ts (see there). */
export interface MemberSettings {
  config?: object;
  brokers?: string[];
  group: string;
  topics: string[];
  sessionTimeoutMs?: number;
  handlerDelayMs?: number;
  failIds?: string[];
  dedupPath?: string;
}

/** A `Consumer` in a child process and everything it printed. */
export class SdkMember {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #stderr = '';
  readonly #waiters = new Set<() => void>();

  constructor(settings: MemberSettings) {
    this.child = spawn(process.execPath, ['--import', TSX, FIXTURE], {
      env: { ...process.env, SDK_CONSUMER: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        this.lines.push(JSON.parse(buf.slice(0, i)) as Line);
        buf = buf.slice(i + 1);
      }
      for (const w of this.#waiters) w();
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  handled(): Line[] {
    return this.lines.filter((l) => l.ev === 'msg');
  }

  /** Partitions owned after every rebalance line printed so far (one topic per test). */
  owned(): Set<number> {
    const set = new Set<number>();
    for (const l of this.lines.filter((x) => x.ev === 'rebalance')) {
      for (const p of l.revoked ?? []) set.delete(p.partition);
      for (const p of l.assigned ?? []) set.add(p.partition);
    }
    return set;
  }

  /** Resolves once `pred` holds over the lines printed so far; rejects after `timeoutMs`. */
  waitFor(pred: (lines: Line[]) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred(this.lines)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const errors = this.lines.filter((l) => l.ev === 'error').slice(-3);
        reject(
          new Error(
            `member ${this.pid}: no ${what} within ${timeoutMs} ms\n${JSON.stringify(errors)}\n${this.#stderr.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  waitReady(): Promise<void> {
    return this.waitFor((ls) => ls.some((l) => l.ev === 'ready'), 'ready');
  }

  /** SIGTERM (a clean close), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Resolves once `pred` holds, checked whenever any member prints; rejects after `timeoutMs`. */
export async function waitAll(
  members: readonly SdkMember[],
  pred: () => boolean,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  await Promise.race(members.map((m) => m.waitFor(() => pred(), what, timeoutMs)));
}

/**
 * `keys * perKey` JSON envelopes, interleaved by key like concurrent clients (seq n of every key, then
 * n + 1), seqs `seqFrom..seqFrom + perKey - 1`, ids `<prefix>-k<k>-<seq>`.
 */
export function keyedEnvelopes(
  topic: string,
  keys: number,
  perKey: number,
  seqFrom = 1,
  prefix = topic,
): Envelope[] {
  const out: Envelope[] = [];
  for (let seq = seqFrom; seq < seqFrom + perKey; seq++) {
    for (let k = 0; k < keys; k++) {
      out.push({
        id: `${prefix}-k${k}-${seq}`,
        topic,
        key: `k${k}`,
        seq,
        type: 'test.message',
        source: '/test',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        headers: {},
        data: Buffer.from(JSON.stringify({ k, seq })),
        attempt: 1,
      });
    }
  }
  return out;
}

/** Publishes in chunks through the backend's `publish()`; every message must be acknowledged. */
export async function publishAll(backend: Backend, batch: readonly Envelope[], chunk = 500): Promise<void> {
  for (let i = 0; i < batch.length; i += chunk) {
    const outcomes = await backend.publish(batch.slice(i, i + chunk));
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  }
}

/** Per key, the seqs in the order they were first handled across all lines (sorted by time). */
export function firstHandledOrder(all: readonly { id?: string; key?: string; seq?: number; t: number }[]) {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (const l of [...all].sort((a, b) => a.t - b.t)) {
    if (seen.has(l.id as string)) continue;
    seen.add(l.id as string);
    const list = byKey.get(l.key as string) ?? [];
    list.push(l.seq as number);
    byKey.set(l.key as string, list);
  }
  return byKey;
}

/** 1..n */
export const seqs = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);
