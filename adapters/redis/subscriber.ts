import { Redis } from 'ioredis';
import type { RedisBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import { type MqgateError, toMqgateError } from '../../src/errors.js';
import { assignPartitions, tpKey } from '../../src/groups/assignment.js';
import { Rebalancer } from '../../src/groups/rebalancer.js';
import { defaultMemberId, type GroupTiming, requestTiming } from '../../src/groups/timing.js';
import type { SubscribeRequest, Subscription, TopicPartition } from '../../src/ports/subscriber.js';
import { settleWithin } from '../../src/with-timeout.js';
import { decodeEntry } from './codec.js';
import { DEFAULT_TUNING, redisOptions } from './config.js';
import { ack, claimAll, claimStranded, ensureGroup, type RawEntry, readGroup } from './group-streams.js';
import { streamKey } from './keys.js';
import { RedisMembership } from './membership.js';
import { PartitionWorker } from './partition-worker.js';

/** Entries read per partition at a time: bounds what a member holds unacknowledged. */
const READ_COUNT = 128;
/** Pause after a failed Redis call in a loop (Redis down, failing over). */
const ERROR_PAUSE_MS = 500;

/** The Redis consumer group name of an mqgate group (one per partition stream). */
export function streamGroupName(group: string): string {
  return `mqgate.${group}`;
}

/**
 * One member of a consumer group over Redis streams (see README.md, "Consumer groups"). It heartbeats into
 * the group's member set, computes the assignment from the live members, holds a lease per owned partition,
 * and reads its partitions with XREADGROUP on a blocking connection of its own.
 */
export class RedisSubscription implements Subscription {
  readonly #request: SubscribeRequest;
  readonly #config: RedisBackendConfig;
  readonly #timing: GroupTiming;
  readonly #member: string;
  readonly #group: string;
  readonly #cmd: Redis;
  readonly #blocking: Redis;
  readonly #membership: RedisMembership;
  readonly #rebalancer: Rebalancer;
  readonly #workers = new Map<string, PartitionWorker>();
  #blockingId: number | undefined;
  #blocked = false;
  /** The read round in flight (one XREADGROUP) and the streams it reads; see #stop. */
  #round: { readonly streams: ReadonlySet<string>; readonly done: Promise<void> } | undefined;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  /** Entries handled and waiting for their XACK, per stream; see #queueAck. */
  readonly #acks = new Map<string, string[]>();
  #ackFlush: Promise<void> | undefined;
  /** The rebalance step in flight, if any; see #tick. */
  #rebalancing: Promise<void> | undefined;
  #reading: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(request: SubscribeRequest, config: RedisBackendConfig, timing: GroupTiming) {
    this.#request = request;
    this.#config = config;
    this.#timing = requestTiming(timing, request.sessionTimeoutMs);
    this.#member = request.memberId ?? defaultMemberId();
    this.#group = streamGroupName(request.group);
    const client = (name: string, commandTimeoutMs: number): Redis => {
      const tuning = { ...DEFAULT_TUNING, commandTimeoutMs };
      const { url, options } = redisOptions(config.connection, `mqgate:${config.name}:${name}`, tuning);
      const c = url === undefined ? new Redis(options) : new Redis(url, options);
      c.on('error', () => undefined); // failures reach us through the commands; see #report
      return c;
    };
    this.#cmd = client('group', DEFAULT_TUNING.commandTimeoutMs);
    // A blocked XREADGROUP must not trip the command timeout.
    this.#blocking = client('reader', this.#blockMs() + DEFAULT_TUNING.commandTimeoutMs);
    this.#blocking.on('ready', () => {
      this.#blockingId = undefined;
    });
    this.#membership = new RedisMembership(
      this.#cmd,
      request.group,
      this.#member,
      this.#timing.sessionTimeoutMs,
    );
    this.#rebalancer = new Rebalancer(
      {
        acquire: (tp) => this.#acquire(tp),
        start: (tp) => this.#start(tp),
        stop: (tp) => this.#stop(tp),
        release: (tp) => this.#membership.release(tp),
      },
      { onAssign: request.onAssign, onRevoke: request.onRevoke, onError: (e) => this.#report(e) },
    );
  }

  /** Connects both connections and joins: the first heartbeat and assignment happen before this resolves. */
  async start(): Promise<void> {
    try {
      await Promise.all([this.#cmd.connect(), this.#blocking.connect()]);
    } catch (err) {
      this.#cmd.disconnect();
      this.#blocking.disconnect();
      throw toMqgateError(err, 'MQGATE_ERR_BACKEND_UNAVAILABLE');
    }
    await this.#tick();
    await this.#rebalancing;
    this.#reading = this.#readLoop();
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown(options.timeoutMs ?? 10_000);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    clearTimeout(this.#timer);
    this.#kick();
    const leave = async (): Promise<void> => {
      await this.#ticking;
      await this.#rebalancing;
      await this.#rebalancer.revokeAll();
      await this.#membership.leave().catch((e) => this.#report(e));
      await this.#reading;
    };
    await settleWithin(leave(), timeoutMs);
    this.#blocking.disconnect();
    await this.#cmd.quit().catch(() => undefined);
    this.#cmd.disconnect();
  }

  #blockMs(): number {
    return this.#timing.heartbeatIntervalMs;
  }

  /**
   * Heartbeat and lease renewal, then schedules the next one. The rebalance step (stop what was lost or
   * revoked, acquire what is assigned, reclaim stranded entries) runs apart: revoking a partition waits for its
   * handler in flight, which may outlast a session timeout, and heartbeats must go on meanwhile or the group
   * would declare this member dead and rebalance for nothing. A tick that finds a rebalance running leaves it
   * be; the next tick after it starts another from fresh membership.
   */
  #tick(): Promise<void> {
    this.#ticking = (async () => {
      try {
        const members = await this.#membership.heartbeat();
        if (!members.includes(this.#member)) members.push(this.#member);
        const lost = await this.#membership.renew(this.#rebalancer.owned());
        if (!this.#closed && this.#rebalancing === undefined) {
          this.#rebalancing = this.#rebalance(members, lost).finally(() => {
            this.#rebalancing = undefined;
          });
        }
      } catch (err) {
        this.#report(err);
      } finally {
        if (!this.#closed)
          this.#timer = setTimeout(() => void this.#tick(), this.#timing.heartbeatIntervalMs);
      }
    })();
    return this.#ticking;
  }

  async #rebalance(members: string[], lost: TopicPartition[]): Promise<void> {
    try {
      if (lost.length > 0) await this.#rebalancer.lost(lost);
      if (this.#closed) return;
      const assignment = assignPartitions(members, this.#request.topics, this.#config.partitions);
      await this.#rebalancer.reconcile(assignment.get(this.#member) ?? []);
      await this.#reclaim();
    } catch (err) {
      this.#report(err);
    }
  }

  async #acquire(tp: TopicPartition): Promise<boolean> {
    if (!(await this.#membership.acquire(tp))) return false;
    const stream = streamKey(tp.topic, tp.partition);
    await ensureGroup(this.#cmd, stream, this.#group);
    // We hold the lease, so whoever owned the partition before has let go or lost it: its pending entries
    // are ours to deliver again, before any new one (min-idle 0).
    await claimAll(this.#cmd, stream, this.#group, this.#member);
    return true;
  }

  /**
   * Takes entries that another consumer has held for a whole session timeout on a partition we own, and
   * reads them next. Only a former owner that lost its lease without noticing in time (a stalled process)
   * leaves such entries: it read on after our takeover's XAUTOCLAIM, and will never read them again.
   */
  async #reclaim(): Promise<void> {
    for (const worker of [...this.#workers.values()]) {
      const n = await claimStranded(
        this.#cmd,
        worker.stream,
        this.#group,
        this.#member,
        this.#timing.sessionTimeoutMs,
      );
      if (n === 0 || worker.stopped) continue;
      worker.rewind();
      this.#kick();
    }
  }

  #start(tp: TopicPartition): void {
    const worker = new PartitionWorker(
      tp,
      streamKey(tp.topic, tp.partition),
      (w, e) => this.#deliver(w, e),
      () => this.#kick(),
    );
    this.#workers.set(tpKey(tp), worker);
    this.#kick();
  }

  async #stop(tp: TopicPartition): Promise<void> {
    const worker = this.#workers.get(tpKey(tp));
    this.#workers.delete(tpKey(tp));
    await worker?.stop();
    if (worker) await this.#flushAcks();
    // A read sent before the stop may still take new entries of this stream into our PEL (a blocked
    // XREADGROUP takes the next entry published). The next owner claims our pending entries once, when it
    // takes the lease (XAUTOCLAIM in #acquire): the lease must not be released before that read is over, or
    // what it takes stays pending for us, where nobody reads it (issue 5).
    const round = this.#round;
    if (worker && round?.streams.has(worker.stream)) {
      this.#kick();
      await round.done;
    }
  }

  async #deliver(worker: PartitionWorker, entry: RawEntry): Promise<boolean> {
    const { tp, stream } = worker;
    const ctx = { topic: tp.topic, partition: tp.partition, offset: entry.id };
    if (entry.fields !== null) {
      let envelope: Envelope | undefined;
      try {
        envelope = decodeEntry(entry.fields);
      } catch (err) {
        // Not an mqgate entry: it can never be handled. Report it and let the partition move on.
        this.#report(err, ctx);
      }
      if (envelope !== undefined) {
        const delivery = { envelope, backend: this.#config.name, partition: tp.partition, offset: entry.id };
        try {
          await this.#request.onMessage(delivery);
        } catch {
          // "Not handled": the entry stays pending and comes again (the worker re-reads its PEL).
          return false;
        }
      }
    }
    // A trimmed entry (fields null) is acknowledged too, so that it leaves the PEL.
    this.#queueAck(stream, entry.id);
    return true;
  }

  /**
   * XACKs go out in batches (one per stream for all the entries handled in one loop turn) instead of one round
   * trip per entry before the next. An entry handled but not yet acknowledged is still pending: a crash
   * redelivers it to the next owner, whose inbox knows its id. Acks are flushed before this member re-reads
   * its pending list and before it gives a partition up.
   */
  #queueAck(stream: string, id: string): void {
    const ids = this.#acks.get(stream);
    if (ids === undefined) this.#acks.set(stream, [id]);
    else ids.push(id);
    this.#ackFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flushAcks());
  }

  /** Sends the queued XACKs; ids whose XACK failed are queued again for the next flush. */
  async #flushAcks(): Promise<void> {
    this.#ackFlush = undefined;
    const batch = [...this.#acks];
    this.#acks.clear();
    await Promise.all(
      batch.map(async ([stream, ids]) => {
        try {
          await ack(this.#cmd, stream, this.#group, ...ids);
        } catch (err) {
          this.#report(err, { stream });
          this.#acks.set(stream, [...ids, ...(this.#acks.get(stream) ?? [])]);
        }
      }),
    );
  }

  /** Wakes the read loop: a worker became idle, a partition started, or we are closing. */
  #kick(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    if (this.#blocked && this.#blockingId !== undefined) {
      // Ends the XREADGROUP BLOCK at once (nil reply), so the next read includes the idle partition.
      this.#cmd.client('UNBLOCK', this.#blockingId).catch(() => undefined);
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      const idle = [...this.#workers.values()].filter((w) => w.idle);
      if (idle.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      // Own pending entries first (a takeover, a rejected entry): they come before any new one.
      const pending = idle.filter((w) => w.mode === 'pending');
      const readers = pending.length > 0 ? pending : idle;
      const round = pending.length > 0 ? this.#readPending(readers) : this.#readNew(readers);
      const done = round.then(
        () => undefined,
        () => undefined,
      );
      this.#round = { streams: new Set(readers.map((w) => w.stream)), done };
      try {
        await round;
      } catch (err) {
        if (this.#closed) return;
        this.#report(err);
        await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
      } finally {
        if (this.#round?.done === done) this.#round = undefined;
      }
    }
  }

  /** Re-reads the workers' own pending entries (no BLOCK, on the command connection). */
  async #readPending(workers: readonly PartitionWorker[]): Promise<void> {
    // What is handled must leave the pending list first, or it would be read (and handled) again.
    await this.#flushAcks();
    const read = await readGroup(
      this.#cmd,
      this.#group,
      this.#member,
      workers.map((w) => ({ key: w.stream, id: w.pendingAfter })),
      READ_COUNT,
    );
    for (const w of workers) w.push(read.get(w.stream) ?? []);
  }

  /** Waits up to one heartbeat for new entries of the idle workers, on the blocking connection. */
  async #readNew(workers: readonly PartitionWorker[]): Promise<void> {
    this.#blockingId ??= Number(await this.#blocking.client('ID'));
    this.#blocked = true;
    const read = await readGroup(
      this.#blocking,
      this.#group,
      this.#member,
      workers.map((w) => ({ key: w.stream, id: '>' })),
      READ_COUNT,
      this.#blockMs(),
    ).finally(() => {
      this.#blocked = false;
    });
    for (const w of workers) {
      const entries = read.get(w.stream);
      if (entries && entries.length > 0) w.push(entries);
    }
  }

  #report(err: unknown, context: Record<string, unknown> = {}): void {
    const error: MqgateError = toMqgateError(err);
    Object.assign(
      error.context,
      { backend: this.#config.name, group: this.#request.group, member: this.#member },
      context,
    );
    this.#request.onError?.(error);
  }
}
