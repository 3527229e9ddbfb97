import type { Redis } from 'ioredis';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { encodeEntry } from './codec.js';
import { mapRedisError } from './errors.js';
import { streamKey } from './keys.js';

export interface PublishSettings {
  /** Backend name, for error context. */
  readonly backend: string;
  readonly partitions: number;
  /** `XADD ... MAXLEN ~ maxLen`: approximate trim; unset keeps every entry. */
  readonly maxLen?: number | undefined;
  /** Replicas that must acknowledge the batch (`WAIT`); 0 or unset sends no WAIT. */
  readonly waitReplicas?: number | undefined;
  /** Bound on the WAIT, in milliseconds (unset: 1000). */
  readonly waitTimeoutMs?: number | undefined;
}

const DEFAULT_WAIT_TIMEOUT_MS = 1_000;

/**
 * Appends a batch to the topic streams: one XADD per message, in array order, in one pipeline (one round
 * trip). Each message goes to `partitionOf(key ?? id, partitions)`, the same partition on every backend.
 *
 * Resolves with one outcome per message, in order; never rejects. A successful outcome means Redis replied
 * to the XADD; with the server's `appendfsync always` the entry is then fsync'd in the AOF. A connection
 * lost mid-pipeline fails the rest of the batch with retriable errors (outcome unknown: the relay sends the
 * same ids again, the SDK dedups by id and re-sequences by seq).
 *
 * With `waitReplicas > 0` the pipeline ends with `WAIT waitReplicas waitTimeoutMs`, and a message counts as
 * published only if its XADD succeeded and at least that many replicas acknowledged everything written on
 * this connection up to the WAIT. Fewer (timeout, replicas gone) fails every XADD of the batch with a
 * retriable error: the entries may well be in the stream, so the relay's resend can duplicate them, but an
 * entry that only the primary holds is never reported as delivered.
 */
export async function publishBatch(
  client: Redis,
  batch: readonly Envelope[],
  settings: PublishSettings,
): Promise<PublishOutcome[]> {
  if (batch.length === 0) return [];
  const partitions = batch.map((env) => partitionOf(env.key ?? env.id, settings.partitions));
  const pipeline = client.pipeline();
  batch.forEach((env, i) => {
    const key = streamKey(env.topic, partitions[i]!);
    const trim = settings.maxLen === undefined ? [] : ['MAXLEN', '~', String(settings.maxLen)];
    // The Buffer variant keeps the reply (the entry id) raw and sends the data field's bytes as they are.
    pipeline.xaddBuffer(key, ...trim, '*', ...encodeEntry(env));
  });
  const waitReplicas = settings.waitReplicas ?? 0;
  const waitTimeoutMs = settings.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  // In the same pipeline, so no extra round trip; WAIT covers every earlier write of this connection, which
  // includes this batch's XADDs (ioredis pipelines are not MULTI, so WAIT really blocks).
  if (waitReplicas > 0) pipeline.call('WAIT', waitReplicas, waitTimeoutMs);
  let results: [Error | null, unknown][] | null;
  try {
    results = await pipeline.exec();
  } catch (err) {
    return batch.map((env) => failure(err, env, settings.backend));
  }
  const replicaShortfall =
    waitReplicas > 0 ? shortfall(results?.[batch.length], waitReplicas, waitTimeoutMs) : undefined;
  return batch.map((env, i): PublishOutcome => {
    const [err, reply] = results?.[i] ?? [new Error('Connection is closed.'), null];
    if (err !== null) return failure(err, env, settings.backend);
    if (!Buffer.isBuffer(reply)) {
      // XADD answers nil only with NOMKSTREAM, which mqgate never sends.
      return failure(new Error(`XADD returned ${String(reply)}`), env, settings.backend);
    }
    if (replicaShortfall !== undefined) return unreplicated(replicaShortfall, env, settings.backend);
    return { ok: true, receipt: { partition: partitions[i]!, offset: reply.toString() } };
  });
}

function failure(err: unknown, env: Envelope, backend: string): PublishOutcome {
  return {
    ok: false,
    error: mapRedisError(err, { backend, topic: env.topic, id: env.id, attempt: env.attempt }),
  };
}

/**
 * Why the WAIT at the end of a pipeline did not prove replication, or undefined when it did. WAIT replies
 * with the number of replicas that acknowledged, also on timeout, so fewer than asked is the failure signal.
 * A WAIT that failed outright (timed out, connection lost, an error reply) proves nothing either.
 */
function shortfall(
  result: [Error | null, unknown] | undefined,
  wanted: number,
  timeoutMs: number,
): string | undefined {
  const [err, reply] = result ?? [new Error('Connection is closed.'), null];
  if (err !== null) return `WAIT ${wanted} ${timeoutMs} failed: ${err.message}`;
  const acked = Number(reply);
  if (Number.isInteger(acked) && acked >= wanted) return undefined;
  return `WAIT ${wanted} ${timeoutMs}: only ${String(reply)} replica(s) acknowledged the batch`;
}

/** Written on the primary but not proven replicated: always retriable, whatever the WAIT's own error was. */
function unreplicated(reason: string, env: Envelope, backend: string): PublishOutcome {
  return {
    ok: false,
    error: new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `redis: ${reason}`, {
      context: { backend, topic: env.topic, id: env.id, attempt: env.attempt },
      retriable: true,
    }),
  };
}
