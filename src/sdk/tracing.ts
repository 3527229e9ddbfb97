import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextOf } from '../otel-traceparent.js';
import type { Handler } from './types.js';

/**
 * Wraps a handler with an OpenTelemetry span per call: `process <topic>`, kind CONSUMER, child of the
 * message's `traceparent` (the relay's `send` span, or the publishing request), with the messaging
 * attributes and the handler attempt. The handler runs inside the span's context, so the application's own
 * spans nest under it; a throw is recorded and marks the span as an error. A no-op unless the application
 * registered an OTel SDK. `systemOf` names the broker type of a backend (`messaging.system`).
 */
export function traceProcess(systemOf: (backend: string) => string, next: Handler): Handler {
  const tracer = trace.getTracer('mqgate-sdk');
  return (msg, ctx) => {
    const span = tracer.startSpan(
      `process ${msg.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': systemOf(msg.backend),
          'messaging.operation.type': 'process',
          'messaging.destination.name': msg.topic,
          'messaging.message.id': msg.id,
          'messaging.mqgate.attempt': msg.attempt,
        },
      },
      contextOf(msg.traceparent),
    );
    return context.with(trace.setSpan(context.active(), span), async () => {
      try {
        await next(msg, ctx);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
  };
}
