import { MqgateError } from '../errors.js';
import type { AppendResult } from '../ports/outbox.js';
import { type EncodedMessage, toRowParams } from './row-codec.js';
import type { Statements } from './sqlite-statements.js';

/** Seconds a publisher is asked to wait when the budget is spent: long enough for the relay to drain some. */
export const FULL_RETRY_AFTER_SEC = 2;

/**
 * Inserts one append() call's messages inside the caller's transaction (savepoint), or throws to store none
 * of them. Ids already stored on the same topic, earlier in this call included, answer as duplicates with
 * their original seq and cost nothing; the seq of a new message is taken from `key_seq` in the same
 * transaction, so a rolled-back call spends no seq.
 */
export function appendRows(
  st: Statements,
  encoded: readonly EncodedMessage[],
  budget: { readonly now: number; readonly freeBytes: number },
): { results: AppendResult[]; addedBytes: number } {
  const results: AppendResult[] = [];
  let addedBytes = 0;
  for (const e of encoded) {
    const { id, topic } = e.message;
    const existing = st.idTopicSeq.get(id);
    if (existing !== undefined) {
      if (existing.topic !== topic) {
        throw new MqgateError('MQGATE_ERR_ID_CONFLICT', `id '${id}' was already used on another topic`, {
          context: { id, topic },
        });
      }
      results.push({ id, seq: existing.seq, duplicate: true });
      continue;
    }
    if (addedBytes + e.sizeBytes > budget.freeBytes) {
      throw new MqgateError('MQGATE_ERR_OUTBOX_FULL', 'outbox budget spent', {
        context: { id, topic },
        retryAfterSec: FULL_RETRY_AFTER_SEC,
      });
    }
    // Keyless messages count per topic under key '' (an empty key is normalised to keyless).
    const seq = st.nextSeq.get({ topic, key: e.key ?? '' })!.last_seq;
    const isHead = e.key === null || st.keyHasOpen.get({ topic, key: e.key }) === undefined;
    st.insert.run(toRowParams(e, seq, isHead, budget.now));
    addedBytes += e.sizeBytes;
    results.push({ id, seq, duplicate: false });
  }
  return { results, addedBytes };
}
