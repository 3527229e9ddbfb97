import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteOutbox } from '../../src/outbox/index.js';
import { type Harness, msg, openOutbox, tempDir, topicName } from './fixtures/outbox-helpers.js';

describe('sqlite outbox durability', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it('runs in WAL with synchronous=NORMAL (the outbox fdatasyncs the WAL itself)', async () => {
    h = await openOutbox();
    // Read back after a write: the build's WAL default only applies once the WAL is first used.
    await h.outbox.append([msg(topicName())]);
    const pragmas = h.outbox.pragmas();
    expect(pragmas).toEqual({ journalMode: 'wal', synchronous: 1 });
  });

  it('reports each durable group with the fdatasync that made it durable', async () => {
    h = await openOutbox();
    const syncs: number[] = [];
    h.outbox.on('commit', (info) => syncs.push(info.syncMs));
    const topic = topicName();
    await h.outbox.append([msg(topic)]);
    const [claimed] = await h.outbox.claim({ limit: 1, leaseMs: 1000, owner: 'r1' });
    expect(syncs).toHaveLength(2);
    expect(syncs.every((ms) => ms > 0)).toBe(true);
    // A mark resolves at its commit: no fsync of its own.
    await h.outbox.markDelivered(claimed!.id, 'redis', {});
    expect(syncs).toEqual([syncs[0], syncs[1], 0]);
  });

  it('commits and fsyncs writes still queued when close() is called', async () => {
    h = await openOutbox();
    const topic = topicName();
    const pending = Array.from({ length: 20 }, () => h!.outbox.append([msg(topic)]));
    await h.outbox.close();
    const results = await Promise.all(pending);
    const again = await h.reopen();
    for (const r of results) expect((await again.get(r[0]!.id))?.state).toBe('accepted');
  });

  it('keeps appended messages across close and reopen', async () => {
    h = await openOutbox();
    const topic = topicName();
    const m = msg(topic, { key: 'k', headers: { a: 'b' }, data: Buffer.from([0, 1, 2, 255]) });
    const [result] = await h.outbox.append([m]);
    await h.outbox.close();
    const again = await h.reopen();
    const status = await again.get(m.id);
    expect(status).toMatchObject({ id: m.id, topic, key: 'k', seq: result!.seq, state: 'accepted' });
    const [claimed] = await again.claim({ limit: 1, leaseMs: 1000, owner: 'r1' });
    expect(claimed?.data.equals(m.data)).toBe(true);
    expect(claimed?.headers).toEqual({ a: 'b' });
    expect((await again.stats()).bytes).toBeGreaterThan(0);
  });

  it('loses no acknowledged message when the process is SIGKILLed', async () => {
    const tmp = tempDir();
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('./fixtures/outbox-crash-child.ts', import.meta.url)),
          tmp.path,
          '1000',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const acked = new Map<string, string>();
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
      for await (const line of createInterface({ input: child.stdout! })) {
        const [id, hex] = line.split(' ');
        acked.set(id!, hex!);
        if (acked.size === 1000) child.kill('SIGKILL');
      }
      expect(await exited).toBe('SIGKILL');
      expect(acked.size).toBe(1000);
      // Reopen through the outbox first (it recovers the WAL), then read the rows as they are on disk.
      const outbox = new SqliteOutbox({ path: tmp.path, maxBytes: 1 << 30, retentionMs: 60_000 });
      await outbox.start();
      expect((await outbox.stats()).depth).toBeGreaterThanOrEqual(1000);
      await outbox.close();
      const db = new Database(tmp.path);
      try {
        const rows = db.prepare<[], { id: string; data: Buffer }>('SELECT id, data FROM messages').all();
        const stored = new Map(rows.map((r) => [r.id, r.data.toString('hex')]));
        for (const [id, hex] of acked) expect(stored.get(id)).toBe(hex);
      } finally {
        db.close();
      }
    } finally {
      tmp.cleanup();
    }
  }, 30_000);
});
