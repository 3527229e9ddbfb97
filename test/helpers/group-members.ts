import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Envelope } from '../../src/envelope.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
const FIXTURE = join(ROOT, 'test/fixtures/group-member.ts');

/** One line printed by test/fixtures/group-member.ts. */
export type MemberEvent =
  | { ev: 'assign' | 'revoke'; tps: [string, number][]; t: number }
  | { ev: 'msg'; id: string; key: string; seq: number; p: number; t: number }
  | { ev: 'error'; code: string; message: string; t: number }
  | { ev: 'ready' | 'closed'; t: number };

/** A group member child process and what it printed so far. */
export class MemberProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly events: MemberEvent[] = [];
  #stderr = '';
  #waiters: (() => void)[] = [];

  constructor(id: string, settings: object) {
    this.id = id;
    this.child = spawn(process.execPath, ['--import', TSX, FIXTURE], {
      env: { ...process.env, MQGATE_GROUP_MEMBER: JSON.stringify({ ...settings, memberId: id }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as MemberEvent);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.child.once('exit', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves when `predicate` holds over the events printed so far; rejects after `timeoutMs`. */
  async until(predicate: (events: MemberEvent[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`member ${this.id}: timed out waiting for ${what}\n${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves on the next line printed (or exit), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  messages(): Extract<MemberEvent, { ev: 'msg' }>[] {
    return this.events.filter((e): e is Extract<MemberEvent, { ev: 'msg' }> => e.ev === 'msg');
  }

  /** The partitions it owns after every assign/revoke printed up to time `at` (default: all). */
  owned(at = Number.POSITIVE_INFINITY): Set<string> {
    const owned = new Set<string>();
    for (const e of this.events) {
      if (e.t > at || (e.ev !== 'assign' && e.ev !== 'revoke')) continue;
      for (const [topic, p] of e.tps) {
        if (e.ev === 'assign') owned.add(`${topic}:${p}`);
        else owned.delete(`${topic}:${p}`);
      }
    }
    return owned;
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    return exited;
  }
}

/** `count` envelopes over `keys` keys, seq `seqBase + 1`.. per key, round-robin over the keys. */
export function envelopes(
  topic: string,
  count: number,
  keys: number,
  prefix: string,
  seqBase = 0,
): Envelope[] {
  const seq = new Map<string, number>();
  return Array.from({ length: count }, (_, n) => {
    const key = `k${n % keys}`;
    const s = (seq.get(key) ?? seqBase) + 1;
    seq.set(key, s);
    return {
      id: `${prefix}-${n}`,
      topic,
      key,
      seq: s,
      type: 'test.message',
      source: '/test',
      time: new Date().toISOString(),
      datacontenttype: 'application/octet-stream',
      headers: {},
      data: Buffer.from(`payload ${n}`),
      attempt: 1,
    };
  });
}

/** Ids that `events` handled more than once, across members. */
export function duplicates(members: readonly MemberProcess[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of members) for (const e of m.messages()) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  return new Map([...seen].filter(([, n]) => n > 1));
}

/** Keys whose seqs are not strictly increasing in one member's handled sequence. */
export function orderViolations(member: MemberProcess): string[] {
  const last = new Map<string, number>();
  const bad: string[] = [];
  for (const e of member.messages()) {
    const prev = last.get(e.key) ?? 0;
    if (e.seq <= prev) bad.push(`${member.id} ${e.key}: ${e.seq} after ${prev}`);
    last.set(e.key, e.seq);
  }
  return bad;
}
