import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so generated ids sort by time and
 * index well in the outbox. Built from `randomUUID()` (whose entropy comes from a pre-filled cache, several
 * times cheaper per call than `randomBytes(16)` on the publish path): the timestamp replaces its first 48
 * bits and the version nibble becomes 7; the variant bits are already RFC 9562's.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  const random = randomUUID();
  const ts = nowMs.toString(16).padStart(12, '0').slice(-12);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
