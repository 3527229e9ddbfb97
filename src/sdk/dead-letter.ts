import type { Envelope } from '../envelope.js';
import { MqgateError, toMqgateError } from '../errors.js';
import type { Backend } from '../ports/backend.js';

/** Header names the dead-letter copy carries (user headers, so every backend's codec keeps them). */
export const DEAD_LETTER_HEADERS = { error: 'dead-letter-error', topic: 'dead-letter-topic' } as const;

/** The dead-letter topic of a topic unless configured otherwise. */
export const defaultDeadLetterTopic = (topic: string): string => `${topic}.dlq`;

const MAX_ERROR_CHARS = 1_000;

/** The dead-letter copy: the same envelope (same id, key, seq, data) on `topic`, with the error in headers. */
export function deadLetterEnvelope(env: Envelope, topic: string, error: unknown): Envelope {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    ...env,
    topic,
    headers: {
      ...env.headers,
      [DEAD_LETTER_HEADERS.error]: text.slice(0, MAX_ERROR_CHARS),
      [DEAD_LETTER_HEADERS.topic]: env.topic,
    },
  };
}

/**
 * Publishes the dead-letter copy through the backend the message came from and resolves once the broker
 * acknowledged it; rejects with an MqgateError otherwise (the caller then leaves the original unacknowledged,
 * so it is redelivered: a dead letter is never dropped).
 */
export async function publishDeadLetter(backend: Backend, copy: Envelope): Promise<void> {
  let outcome: Awaited<ReturnType<Backend['publish']>>[number] | undefined;
  try {
    [outcome] = await backend.publish([copy]);
  } catch (err) {
    throw toMqgateError(err, 'MQGATE_ERR_BACKEND_UNAVAILABLE');
  }
  if (!outcome) {
    throw new MqgateError('MQGATE_ERR_INTERNAL', 'publish returned no outcome for the dead letter', {
      context: { backend: backend.name, topic: copy.topic, id: copy.id },
    });
  }
  if (!outcome.ok) throw outcome.error;
}
