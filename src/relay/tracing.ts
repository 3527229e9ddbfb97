import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Envelope } from '../envelope.js';
import { contextOf, traceparentOf } from '../otel-traceparent.js';
import type { PublishOutcome } from '../ports/backend.js';

/** A backend's publish, as the relay calls it. */
export type PublishFn = (msgs: Envelope[]) => Promise<PublishOutcome[]>;

const tracer = () => trace.getTracer('mqgate');

/**
 * Wraps a backend's publish with one OpenTelemetry span per message: `send <topic>`, kind PRODUCER, child of
 * the message's `traceparent` (the publishing request's), with the messaging attributes; it ends with the
 * broker's outcome. When a tracer provider is registered (the application's OTel SDK), the message goes out
 * with the send span's context as its `traceparent`, so consumers' `process` spans hang under it; without
 * one the spans are no-ops and the message is unchanged.
 */
export function traceSend(system: string, next: PublishFn): PublishFn {
  return async (msgs) => {
    const spans = msgs.map((m) =>
      tracer().startSpan(
        `send ${m.topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': system,
            'messaging.operation.type': 'send',
            'messaging.destination.name': m.topic,
            'messaging.message.id': m.id,
          },
        },
        contextOf(m.traceparent),
      ),
    );
    const sent = msgs.map((m, i) => {
      const sc = spans[i]!.spanContext();
      return trace.isSpanContextValid(sc) && spans[i]!.isRecording()
        ? { ...m, traceparent: traceparentOf(sc) }
        : m;
    });
    try {
      const outcomes = await next(sent);
      spans.forEach((span, i) => {
        const o = outcomes[i];
        if (o && !o.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: o.error.code });
        span.end();
      });
      return outcomes;
    } catch (err) {
      for (const span of spans) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      throw err;
    }
  };
}
