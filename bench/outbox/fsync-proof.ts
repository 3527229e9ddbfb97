/**
 * Durability proof: N appends one after the other (each its own group), then N more from 20 concurrent
 * writers. As each append resolves it writes `ack <n>` to stderr with a synchronous write(2), so that strace
 * shows every acknowledgement between the syscalls that made it durable. Prints
 * `{ appends, groups, syncedGroups }` on stdout: groups committed, and those that waited for an fdatasync.
 *
 *   strace -f -ttt -T -y -e trace=pwrite64,write,fdatasync,fsync -o /tmp/outbox.strace \
 *     node --import tsx bench/outbox/fsync-proof.ts /tmp/mqgate-fsync 200 2>/dev/null
 *
 * test/unit/outbox-fsync-proof.test.ts runs it so and checks, for every sequential ack, that an fdatasync of
 * the `-wal` file started after the group's last WAL write and returned before the ack, on a thread other
 * than the event loop's; and that there are at least as many WAL fdatasyncs as synced groups.
 */
import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteOutbox } from '../../src/outbox/index.js';
import type { NewMessage } from '../../src/ports/outbox.js';

const [dir = '/tmp/mqgate-fsync', countArg = '200'] = process.argv.slice(2);
const count = Number(countArg);
const outbox = new SqliteOutbox({ path: join(dir, `${randomUUID()}.db`), maxBytes: 1 << 30, retentionMs: 1 });
await outbox.start();
let groups = 0;
let syncedGroups = 0;
outbox.on('commit', (info) => {
  groups++;
  if (info.syncMs > 0) syncedGroups++;
});

const message = (i: number): NewMessage => ({
  id: randomUUID(),
  topic: 'fsync',
  key: `k${i % 7}`,
  type: 't',
  source: 's',
  time: new Date().toISOString(),
  datacontenttype: 'text/plain',
  headers: {},
  data: Buffer.from(`message ${i}`),
});

writeSync(2, 'sequential\n');
for (let i = 0; i < count; i++) {
  await outbox.append([message(i)]);
  writeSync(2, `ack ${i}\n`);
}
writeSync(2, 'concurrent\n');
let next = count;
async function writer(): Promise<void> {
  while (next < 2 * count) {
    const i = next++;
    await outbox.append([message(i)]);
    writeSync(2, `ack ${i}\n`);
  }
}
await Promise.all(Array.from({ length: 20 }, writer));
await outbox.close();
console.log(JSON.stringify({ appends: 2 * count, groups, syncedGroups }));
