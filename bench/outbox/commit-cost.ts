/**
 * Where a group commit's time goes on the event loop: the appends (inside savepoints) and the COMMIT, under
 * `synchronous = FULL` (COMMIT includes the WAL fsync) or `NORMAL` (COMMIT only writes the WAL), for groups
 * of G single-message appends on one key (scenario 1's shape).
 * Usage: npx tsx bench/outbox/commit-cost.ts [FULL|NORMAL] [G=50] [groups=400]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeMessage } from '../../src/outbox/row-codec.js';
import { appendRows } from '../../src/outbox/sqlite-append.js';
import { migrate } from '../../src/outbox/sqlite-schema.js';
import { prepareStatements } from '../../src/outbox/sqlite-statements.js';

const [level = 'FULL', groupArg = '50', groupsArg = '400'] = process.argv.slice(2);
if (level !== 'FULL' && level !== 'NORMAL')
  throw new Error(`synchronous must be FULL or NORMAL, got ${level}`);
const group = Number(groupArg);
const groups = Number(groupsArg);
const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
const db = new Database(join(dir, 'outbox.db'));
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${level}`);
migrate(db);
const st = prepareStatements(db);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const savepoint = db.prepare('SAVEPOINT op');
const release = db.prepare('RELEASE op');
const data = Buffer.from(JSON.stringify({ order: 42, items: ['a', 'b'] }));
let opsMs = 0;
let commitMs = 0;
for (let g = 0; g < groups; g++) {
  const messages = Array.from({ length: group }, () =>
    encodeMessage({
      id: randomUUID(),
      topic: 'bench.orders',
      key: 'k',
      type: 't',
      source: 's',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      headers: {},
      data,
    }),
  );
  let t = performance.now();
  begin.run();
  for (const m of messages) {
    savepoint.run();
    appendRows(st, [m], { now: Date.now(), freeBytes: Number.MAX_SAFE_INTEGER });
    release.run();
  }
  opsMs += performance.now() - t;
  t = performance.now();
  commit.run();
  commitMs += performance.now() - t;
}
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    synchronous: level,
    group,
    messages: group * groups,
    appendUsPerMessage: +((1000 * opsMs) / (group * groups)).toFixed(1),
    commitMs: +(commitMs / groups).toFixed(3),
  }),
);
