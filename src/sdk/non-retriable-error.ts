/**
 * Thrown by a handler to say "this message can never succeed": it goes to the dead-letter topic at once,
 * without retries. Any other error is retried with backoff.
 */
export class NonRetriableError extends Error {
  readonly retriable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}
