/**
 * Durability proof: N appends, each awaited before the next, so each is its own commit. Run under
 *   strace -f -e trace=fsync,fdatasync -o /tmp/outbox.strace npx tsx bench/outbox/fsync-proof.ts <dir> 200
 * and count the syncs: with synchronous=FULL there must be at least one per commit.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SqliteOutbox } from '../../src/outbox/index.js';

const [dir = '/tmp/mqgate-fsync', countArg = '200'] = process.argv.slice(2);
const count = Number(countArg);
const outbox = new SqliteOutbox({ path: join(dir, `${randomUUID()}.db`), maxBytes: 1 << 30, retentionMs: 1 });
await outbox.start();
let commits = 0;
outbox.on('commit', () => commits++);
for (let i = 0; i < count; i++) {
  await outbox.append([
    {
      id: randomUUID(),
      topic: 'fsync',
      type: 't',
      source: 's',
      time: new Date().toISOString(),
      datacontenttype: 'text/plain',
      headers: {},
      data: Buffer.from(`message ${i}`),
    },
  ]);
}
await outbox.close();
console.log(JSON.stringify({ appends: count, commits }));
