/**
 * What a publish request stored, set on the request by the publish routes and read by observers (the
 * metrics plugin) in `onResponse`. The routes know nothing about who reads it.
 */
export interface AcceptedInfo {
  readonly topic: string;
  /** New messages committed to the outbox. */
  readonly accepted: number;
  /** Messages whose idempotency key was already accepted (nothing stored). */
  readonly duplicates: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    accepted?: AcceptedInfo;
  }
}
