import type { Redis } from 'ioredis';
import type { TopicPartition } from '../../src/ports/subscriber.js';
import { mapRedisError } from './errors.js';

/**
 * Consumer group membership and partition leases, kept in Redis (streams have no partition assignment).
 *
 * - Members: a sorted set `mqgate:group:{<group>}:members`, member id -> time of its last heartbeat in
 *   Redis' own clock (`TIME`), so members on hosts with skewed clocks agree on who is alive. Each heartbeat
 *   also prunes members silent for longer than the session timeout: no janitor process is needed.
 * - Leases: `mqgate:group:{<group>}:lease:<topic>:<p>` holds the owner's id with a TTL of the session
 *   timeout (`SET NX PX`), renewed on every heartbeat and deleted on revoke. Only the holder reads the
 *   partition, so two members never handle the same partition at once, even while their views of the
 *   membership disagree for a heartbeat or two.
 * The `{<group>}` hash tag keeps a group's keys in one slot should mqgate ever run on Redis Cluster.
 */

/** Adds or refreshes a member, prunes the dead, returns the live ones (sorted by id by the caller). */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local timeout = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - timeout)
redis.call('PEXPIRE', KEYS[1], timeout * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/** Takes a free lease or extends one already ours: 1 when we hold it afterwards. */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Extends a lease only while it is still ours: 0 means it expired (and maybe went to another member). */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

/** Deletes a lease only if it is ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function membersKey(group: string): string {
  return `mqgate:group:{${group}}:members`;
}

export function leaseKey(group: string, tp: TopicPartition): string {
  return `mqgate:group:{${group}}:lease:${tp.topic}:${tp.partition}`;
}

/** One member's view of its group in Redis. Every method rejects with an MqgateError. */
export class RedisMembership {
  readonly #client: Redis;
  readonly #group: string;
  readonly #member: string;
  readonly #leaseMs: number;

  constructor(client: Redis, group: string, member: string, sessionTimeoutMs: number) {
    this.#client = client;
    this.#group = group;
    this.#member = member;
    this.#leaseMs = sessionTimeoutMs;
  }

  /** Says this member is alive; resolves with the live members. */
  async heartbeat(): Promise<string[]> {
    const reply = await this.#eval(HEARTBEAT, membersKey(this.#group), this.#member, this.#leaseMs);
    return (reply as string[]).map(String);
  }

  /** Removes this member at once, so the others rebalance without waiting for the session timeout. */
  async leave(): Promise<void> {
    try {
      await this.#client.zrem(membersKey(this.#group), this.#member);
    } catch (err) {
      throw mapRedisError(err);
    }
  }

  async acquire(tp: TopicPartition): Promise<boolean> {
    return (await this.#eval(ACQUIRE, leaseKey(this.#group, tp), this.#member, this.#leaseMs)) === 1;
  }

  /** Renews the leases; resolves with the partitions whose lease was no longer ours. */
  async renew(tps: readonly TopicPartition[]): Promise<TopicPartition[]> {
    if (tps.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const tp of tps) pipeline.eval(RENEW, 1, leaseKey(this.#group, tp), this.#member, this.#leaseMs);
    const results = await pipeline.exec().catch((err: unknown) => {
      throw mapRedisError(err);
    });
    const lost: TopicPartition[] = [];
    tps.forEach((tp, i) => {
      const [err, reply] = results?.[i] ?? [new Error('Connection is closed.'), null];
      if (err) throw mapRedisError(err);
      if (reply !== 1) lost.push(tp);
    });
    return lost;
  }

  async release(tp: TopicPartition): Promise<void> {
    await this.#eval(RELEASE, leaseKey(this.#group, tp), this.#member, this.#leaseMs);
  }

  async #eval(script: string, key: string, member: string, ms: number): Promise<unknown> {
    try {
      return await this.#client.eval(script, 1, key, member, String(ms));
    } catch (err) {
      throw mapRedisError(err, { group: this.#group });
    }
  }
}
