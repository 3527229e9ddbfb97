import type { Redis } from 'ioredis';
import { MqgateError } from '../../src/errors.js';
import type { ClaimRequest, LeasedMessage, SettleOutcome } from '../../src/ports/lease.js';
import { decodeEntry } from './codec.js';
import { mapRedisError } from './errors.js';
import { streamKey } from './keys.js';
import { CLAIM_SCRIPT, HELD_SCRIPT, SETTLE_SCRIPT } from './lease-scripts.js';

/** The Redis consumer group of pull group `group`: apart from the SDK's groups (`streamGroupName`). */
export function pullGroupName(group: string): string {
  return `mqgate.pull.${group}`;
}

/** The lease index of a pull group on one stream; shares the stream's hash tag (same cluster slot). */
function leaseIndexKey(topic: string, partition: number, group: string): string {
  return `${streamKey(topic, partition)}:pull:${group}`;
}

type Triple = [Buffer, Buffer[], number];

interface Token {
  readonly partition: number;
  readonly claimId: string;
  readonly entryId: string;
}

/** `<partition>~<claimId>~<entryId>`: claim ids are `[A-Za-z0-9._-]`, entry ids `<ms>-<seq>`. */
function encodeToken(t: Token): string {
  return `${t.partition}~${t.claimId}~${t.entryId}`;
}

function decodeToken(token: string, partitions: number): Token {
  const m = /^(\d+)~([A-Za-z0-9._-]{1,64})~(\d+-\d+)$/.exec(token);
  const partition = Number(m?.[1]);
  if (!m || partition >= partitions) {
    throw new MqgateError('MQGATE_ERR_INVALID_LEASE_TOKEN', 'not a lease token of this topic');
  }
  return { partition, claimId: m[2]!, entryId: m[3]! };
}

/**
 * Claims up to `max` entries of the topic's streams for `request.claimId`: when that claim already holds
 * entries (its response was lost and the client asks again), those are returned and nothing new is taken.
 */
export async function claimEntries(
  client: Redis,
  partitions: number,
  request: ClaimRequest,
  backend: string,
): Promise<LeasedMessage[]> {
  const group = pullGroupName(request.group);
  const run = async (script: string, p: number, argv: (string | number)[]) => {
    const keys = [streamKey(request.topic, p), leaseIndexKey(request.topic, p, request.group)];
    try {
      const rows = (await client.callBuffer('EVAL', script, 2, ...keys, ...argv)) as Triple[];
      return rows.map(([id, fields, deliveries]) => lease(id.toString(), fields, deliveries, p));
    } catch (err) {
      throw mapRedisError(err, { backend, topic: request.topic });
    }
  };
  const lease = (
    entryId: string,
    fields: Buffer[],
    deliveries: number,
    partition: number,
  ): LeasedMessage => ({
    envelope: decodeEntry(fields),
    token: encodeToken({ partition, claimId: request.claimId, entryId }),
    partition,
    deliveries: Number(deliveries),
  });
  const held: LeasedMessage[] = [];
  for (let p = 0; p < partitions && held.length < request.max; p++) {
    held.push(...(await run(HELD_SCRIPT, p, [group, request.claimId, request.max - held.length])));
  }
  if (held.length > 0) return held;
  const out: LeasedMessage[] = [];
  // A random first partition, so that small claims do not always drain partition 0 first.
  const first = Math.floor(Math.random() * partitions);
  for (let i = 0; i < partitions && out.length < request.max; i++) {
    const p = (first + i) % partitions;
    const argv = [group, request.claimId, request.max - out.length, request.leaseMs];
    out.push(...(await run(CLAIM_SCRIPT, p, argv)));
  }
  return out;
}

/** Acknowledges (`mode` ack) or releases tokens; outcomes in the tokens' order. */
export async function settleEntries(
  client: Redis,
  partitions: number,
  target: { group: string; topic: string; backend: string },
  tokens: readonly string[],
  mode: 'ack' | 'release',
  delayMs: number,
): Promise<SettleOutcome[]> {
  const parsed = tokens.map((t) => decodeToken(t, partitions));
  const outcomes: SettleOutcome[] = new Array(tokens.length);
  // One script call per (partition, claim): the script checks each entry's owner against the claim.
  const batches = new Map<string, number[]>();
  parsed.forEach((t, i) => {
    const k = `${t.partition}~${t.claimId}`;
    batches.set(k, [...(batches.get(k) ?? []), i]);
  });
  for (const indexes of batches.values()) {
    const { partition, claimId } = parsed[indexes[0]!]!;
    const keys = [streamKey(target.topic, partition), leaseIndexKey(target.topic, partition, target.group)];
    const argv = [
      pullGroupName(target.group),
      claimId,
      mode,
      delayMs,
      ...indexes.map((i) => parsed[i]!.entryId),
    ];
    let result: string[];
    try {
      result = (await client.call('EVAL', SETTLE_SCRIPT, 2, ...keys, ...argv)) as string[];
    } catch (err) {
      throw mapRedisError(err, { backend: target.backend, topic: target.topic });
    }
    indexes.forEach((i, j) => {
      outcomes[i] = result[j] as SettleOutcome;
    });
  }
  return outcomes;
}
