import type { JobsOptions, Queue } from 'bullmq';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { type BullmqJobData, encodeJobData, jobIdOf } from './codec.js';
import { COMMAND_TIMEOUT_MS } from './config.js';
import { mapBullmqError } from './errors.js';

/** Message header (milliseconds, decimal) that delays a job. `x-mqgate-*` names belong to the HTTP layer. */
export const DELAY_HEADER = 'delay-ms';
/** Message header (integer, 1 = first) that prioritises a job; 0 or absent = no priority. */
export const PRIORITY_HEADER = 'priority';
/** Longest delay accepted: one year, well inside what BullMQ's delayed-set scores can hold. */
export const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
/** BullMQ's PRIORITY_LIMIT (2^21 - 1). */
export const MAX_PRIORITY = 2 ** 21 - 1;

/**
 * Options of every job. `attempts`/`backoff` are for the Workers that process the job (mqgate only adds
 * it). Completed jobs stay a day (at most 100k per queue) and failed ones a week: while a job is kept, a
 * relay retry of the same message id is ignored by BullMQ; after it is removed, the same id would be a new
 * job.
 */
export const JOB_DEFAULTS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

interface JobSpec {
  readonly name: string;
  readonly data: BullmqJobData;
  readonly opts: JobsOptions;
}

function intHeader(env: Envelope, name: string, max: number): number | undefined {
  const raw = env.headers[name];
  if (raw === undefined) return undefined;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n <= max)) {
    throw new MqgateError(
      'MQGATE_ERR_BACKEND_REJECTED',
      `header ${name} must be an integer from 0 to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
      { context: { topic: env.topic, id: env.id, attempt: env.attempt } },
    );
  }
  return n;
}

/** The job for a message; throws a non-retriable MqgateError when its scheduling headers are invalid. */
export function jobOf(env: Envelope): JobSpec {
  const delay = intHeader(env, DELAY_HEADER, MAX_DELAY_MS);
  const priority = intHeader(env, PRIORITY_HEADER, MAX_PRIORITY);
  return {
    name: env.type,
    data: encodeJobData(env),
    opts: {
      ...JOB_DEFAULTS,
      jobId: jobIdOf(env.id),
      ...(delay ? { delay } : {}),
      ...(priority ? { priority } : {}),
    },
  };
}

async function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('Command timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Adds one topic's messages to its queue with `addBulk` (one pipeline, in order) and returns their outcomes
 * in order; never rejects. A job id already in the queue is ignored by BullMQ, which answers with the
 * existing job's id: that counts as delivered, with that id as the offset.
 *
 * `addBulk` fails as a whole on the first job error, though earlier jobs may already be in. A retriable
 * failure fails every message (the relay re-sends; the jobs that got in are ignored then as duplicates).
 * A rejection is narrowed down by adding the jobs one by one, so one bad job does not dead-letter the rest.
 */
export async function addToQueue(
  queue: Queue,
  batch: readonly Envelope[],
  backend: string,
): Promise<{ outcomes: PublishOutcome[]; retriableFailure: boolean }> {
  const ctx = (env: Envelope) => ({ backend, topic: env.topic, id: env.id, attempt: env.attempt });
  const outcomes: (PublishOutcome | undefined)[] = batch.map(() => undefined);
  const specs: { index: number; spec: JobSpec }[] = [];
  batch.forEach((env, index) => {
    try {
      specs.push({ index, spec: jobOf(env) });
    } catch (err) {
      outcomes[index] = { ok: false, error: mapBullmqError(err, ctx(env)) };
    }
  });
  if (specs.length === 0) return { outcomes: outcomes.map((o) => o!), retriableFailure: false };
  const limitMs = COMMAND_TIMEOUT_MS + 1_000;
  let retriableFailure = false;
  try {
    const jobs = await bounded(queue.addBulk(specs.map(({ spec }) => spec)), limitMs);
    specs.forEach(({ index }, i) => {
      outcomes[index] = { ok: true, receipt: { offset: String(jobs[i]?.id) } };
    });
  } catch (bulkErr) {
    if (mapBullmqError(bulkErr).retriable) {
      retriableFailure = true;
      for (const { index } of specs) {
        outcomes[index] = { ok: false, error: mapBullmqError(bulkErr, ctx(batch[index]!)) };
      }
    } else {
      for (const { index, spec } of specs) {
        try {
          const job = await bounded(queue.add(spec.name, spec.data, spec.opts), limitMs);
          outcomes[index] = { ok: true, receipt: { offset: String(job.id) } };
        } catch (err) {
          const error = mapBullmqError(err, ctx(batch[index]!));
          retriableFailure ||= error.retriable;
          outcomes[index] = { ok: false, error };
        }
      }
    }
  }
  return { outcomes: outcomes.map((o) => o!), retriableFailure };
}
