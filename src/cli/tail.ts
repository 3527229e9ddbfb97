import type { Config } from '../config/types.js';
import { Consumer } from '../sdk/consumer.js';
import type { Message } from '../sdk/types.js';

/** Options of `mqgate tail`. */
export interface TailOptions {
  readonly config: Config;
  readonly topic: string;
  readonly group: string;
  /** Print what the group reads from the start; otherwise only messages stamped after the tail started. */
  readonly fromBeginning: boolean;
  readonly out: NodeJS.WritableStream;
  /** Resolves when the tail should stop (Ctrl-C). */
  readonly stop: Promise<unknown>;
  /** Called once every backend made its first subscribe attempt. */
  readonly onReady?: () => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One message as the JSON line `tail` prints: bytes as UTF-8 text, or base64 when they are not text. */
export function tailLine(msg: Message): string {
  let data: unknown = msg.data;
  let encoding: 'base64' | undefined;
  if (Buffer.isBuffer(msg.data)) {
    try {
      data = utf8.decode(msg.data);
    } catch {
      data = msg.data.toString('base64');
      encoding = 'base64';
    }
  }
  return `${JSON.stringify({
    id: msg.id,
    topic: msg.topic,
    key: msg.key ?? null,
    seq: msg.seq,
    backend: msg.backend,
    headers: msg.headers,
    data,
    ...(encoding ? { encoding } : {}),
  })}\n`;
}

/**
 * `mqgate tail`: consumes `topic` as a member of `group` with the SDK's Consumer and writes each message as
 * one JSON line, until `stop` resolves; then closes the consumer (in-flight lines finish, offsets commit,
 * the member leaves the group). A group resumes where it left off; a new group starts at the oldest message
 * each broker still holds, and without `fromBeginning` the messages stamped (`time`) before the tail started
 * are consumed without being printed. Messages are acknowledged once their line was written.
 */
export async function tail(options: TailOptions): Promise<void> {
  const startedAt = Date.now();
  const consumer = new Consumer({
    config: options.config,
    group: options.group,
    topics: [options.topic],
    // One at a time keeps the lines in the order the handler sees them, per key and overall.
    concurrency: 1,
  });
  consumer.on('error', (err) => process.stderr.write(`mqgate: tail: ${err.message}\n`));
  await consumer.run(async (msg) => {
    if (!options.fromBeginning && Date.parse(msg.time) < startedAt) return;
    if (!options.out.write(tailLine(msg))) {
      await new Promise((resolve) => options.out.once('drain', resolve));
    }
  });
  options.onReady?.();
  await options.stop;
  await consumer.close({ timeoutMs: 10_000 });
}
