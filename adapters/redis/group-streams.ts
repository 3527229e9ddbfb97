import type { Redis } from 'ioredis';
import { mapRedisError } from './errors.js';

/**
 * The stream commands of a consumer group member, with the Buffer variants so payloads stay byte-exact.
 * Semantics relied on (https://redis.io/docs/latest/commands/xreadgroup/, .../xautoclaim/):
 * - `XREADGROUP ... STREAMS k >` hands out entries never delivered to the group and adds them to the
 *   reader's pending entries list (PEL); with an id instead of `>` it re-reads the reader's own PEL after
 *   that id, oldest first. An entry stays pending until XACK.
 * - `XAUTOCLAIM k g me 0 <cursor> JUSTID` moves entries pending for any consumer of the group to `me`; it
 *   pages with a cursor (0-0 when done) and drops PEL entries whose stream entry was deleted.
 */

/** One stream entry as read: its id and the flat field list (null when the entry was trimmed away). */
export interface RawEntry {
  readonly id: string;
  readonly fields: Buffer[] | null;
}

/** Creates the group at the start of the stream (and the stream), so no earlier message is missed. */
export async function ensureGroup(client: Redis, stream: string, group: string): Promise<void> {
  try {
    await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    // The group already exists: that is the normal case for every member but the first.
    if (err instanceof Error && err.message.startsWith('BUSYGROUP')) return;
    throw mapRedisError(err, { stream });
  }
}

/** Moves every entry pending in the group (a dead or former owner's) to `consumer`; returns how many. */
export async function claimAll(
  client: Redis,
  stream: string,
  group: string,
  consumer: string,
): Promise<number> {
  let cursor = '0-0';
  let claimed = 0;
  try {
    do {
      const reply = (await client.call(
        'XAUTOCLAIM',
        stream,
        group,
        consumer,
        '0',
        cursor,
        'COUNT',
        '100',
        'JUSTID',
      )) as [string, string[]];
      cursor = String(reply[0]);
      claimed += reply[1].length;
    } while (cursor !== '0-0');
  } catch (err) {
    throw mapRedisError(err, { stream });
  }
  return claimed;
}

/**
 * Entries pending for the group's other consumers, idle for at least ARGV[3] ms, moved to ARGV[2] (JUSTID:
 * the delivery count stays). XCLAIM re-checks the idle time, so an entry delivered again meanwhile stays put.
 */
const CLAIM_STRANDED = `
local group, me, idle = ARGV[1], ARGV[2], ARGV[3]
local args = { 'XCLAIM', KEYS[1], group, me, idle }
for _, e in ipairs(redis.call('XPENDING', KEYS[1], group, 'IDLE', idle, '-', '+', 100)) do
  if e[2] ~= me then args[#args + 1] = e[1] end
end
if #args == 5 then return 0 end
args[#args + 1] = 'JUSTID'
return #redis.call(unpack(args))`;

/**
 * Moves to `consumer` the entries that other consumers of the group have held for `minIdleMs` or more;
 * returns how many. The partition's owner calls it for entries a former owner took after the takeover's
 * `claimAll` (one that lost its lease while still reading): nobody else would ever read them.
 */
export async function claimStranded(
  client: Redis,
  stream: string,
  group: string,
  consumer: string,
  minIdleMs: number,
): Promise<number> {
  try {
    return Number(await client.eval(CLAIM_STRANDED, 1, stream, group, consumer, String(minIdleMs)));
  } catch (err) {
    throw mapRedisError(err, { stream });
  }
}

type XReadReply = [Buffer, [Buffer, Buffer[] | null][]][] | null;

function parse(reply: XReadReply): Map<string, RawEntry[]> {
  const out = new Map<string, RawEntry[]>();
  for (const [key, entries] of reply ?? []) {
    out.set(
      key.toString(),
      entries.map(([id, fields]) => ({ id: id.toString(), fields })),
    );
  }
  return out;
}

/**
 * One XREADGROUP over several streams: `ids` per stream (`>` for new entries, an id for the own PEL).
 * `blockMs` makes it wait for new entries (only on a connection of its own). Resolves with entries per stream.
 */
export async function readGroup(
  client: Redis,
  group: string,
  consumer: string,
  streams: readonly { key: string; id: string }[],
  count: number,
  blockMs?: number,
): Promise<Map<string, RawEntry[]>> {
  const block = blockMs === undefined ? [] : ['BLOCK', String(blockMs)];
  const args = [
    'GROUP',
    group,
    consumer,
    'COUNT',
    String(count),
    ...block,
    'STREAMS',
    ...streams.map((s) => s.key),
    ...streams.map((s) => s.id),
  ];
  try {
    return parse((await client.callBuffer('XREADGROUP', ...args)) as XReadReply);
  } catch (err) {
    throw mapRedisError(err, { group });
  }
}

export async function ack(client: Redis, stream: string, group: string, ...ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    await client.xack(stream, group, ...ids);
  } catch (err) {
    throw mapRedisError(err, { stream });
  }
}
