import { MqgateError } from '../errors.js';

const DURATION_RE = /^(\d+)(ms|s)?$/;
const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 5_000;

/** `?wait=delivered&timeout=5s`: how long a publish may wait for the broker's ack (default 5 s, at most 60 s). */
export function parseWait(query: Record<string, string | undefined>): { timeoutMs: number } | undefined {
  if (query.wait === undefined) {
    if (query.timeout !== undefined) {
      throw new MqgateError('MQGATE_ERR_INVALID_QUERY', 'timeout needs wait=delivered');
    }
    return undefined;
  }
  if (query.wait !== 'delivered')
    throw new MqgateError('MQGATE_ERR_INVALID_QUERY', 'wait must be "delivered"');
  if (query.timeout === undefined) return { timeoutMs: DEFAULT_WAIT_MS };
  const m = DURATION_RE.exec(query.timeout);
  if (m === null) throw new MqgateError('MQGATE_ERR_INVALID_QUERY', 'timeout is like 500ms or 5s');
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (ms < 1 || ms > MAX_WAIT_MS) {
    throw new MqgateError(
      'MQGATE_ERR_INVALID_QUERY',
      `timeout must be between 1ms and ${MAX_WAIT_MS / 1000}s`,
    );
  }
  return { timeoutMs: ms };
}
