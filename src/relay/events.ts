import type { MqgateError } from '../errors.js';
import type { DeliveryReceipt } from '../ports/backend.js';

export interface DeliveredEvent {
  readonly id: string;
  readonly topic: string;
  readonly backend: string;
  readonly receipt: DeliveryReceipt;
  readonly attempt: number;
  /** When the gateway accepted the message (epoch ms, from the envelope's `time`). */
  readonly acceptedAt: number;
}

export interface FailedEvent {
  readonly id: string;
  readonly topic: string;
  readonly backend?: string;
  readonly error: MqgateError;
  readonly attempt: number;
  /** Dead-lettered (true) or scheduled for another attempt (false). */
  readonly dead: boolean;
}
