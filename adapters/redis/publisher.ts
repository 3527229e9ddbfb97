import type { Redis } from 'ioredis';
import { type Envelope, partitionOf } from '../../src/envelope.js';
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
}

/**
 * Appends a batch to the topic streams: one XADD per message, in array order, in one pipeline (one round
 * trip). Each message goes to `partitionOf(key ?? id, partitions)`, the same partition on every backend.
 *
 * Resolves with one outcome per message, in order; never rejects. A successful outcome means Redis replied
 * to the XADD; with the server's `appendfsync always` the entry is then fsync'd in the AOF. A connection
 * lost mid-pipeline fails the rest of the batch with retriable errors (outcome unknown: the relay sends the
 * same ids again, the SDK dedups by id and re-sequences by seq).
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
  let results: [Error | null, unknown][] | null;
  try {
    results = await pipeline.exec();
  } catch (err) {
    return batch.map((env) => failure(err, env, settings.backend));
  }
  return batch.map((env, i): PublishOutcome => {
    const [err, reply] = results?.[i] ?? [new Error('Connection is closed.'), null];
    if (err !== null) return failure(err, env, settings.backend);
    if (!Buffer.isBuffer(reply)) {
      // XADD answers nil only with NOMKSTREAM, which mqgate never sends.
      return failure(new Error(`XADD returned ${String(reply)}`), env, settings.backend);
    }
    return { ok: true, receipt: { partition: partitions[i]!, offset: reply.toString() } };
  });
}

function failure(err: unknown, env: Envelope, backend: string): PublishOutcome {
  return {
    ok: false,
    error: mapRedisError(err, { backend, topic: env.topic, id: env.id, attempt: env.attempt }),
  };
}
