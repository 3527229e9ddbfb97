import { randomBytes } from 'node:crypto';
import type { NewMessage } from '../ports/outbox.js';
import { checkTraceparent } from './message-fields.js';

/** A new W3C trace context (version 00, sampled): a fresh trace id and parent id. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/**
 * The message with a trace context: its own (from the body, `ce-traceparent` or the request's `traceparent`
 * header, as parsed), else `fallback` (a batch shares the request's), else a new trace. Every backend's
 * codec carries `traceparent` to consumers.
 */
export function withTraceparent(message: NewMessage, fallback?: unknown): NewMessage {
  if (message.traceparent !== undefined) return message;
  return { ...message, traceparent: checkTraceparent(fallback) ?? newTraceparent() };
}
