import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { traceSend } from '../../src/relay/tracing.js';
import { traceProcess } from '../../src/sdk/tracing.js';
import type { Message } from '../../src/sdk/types.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const envelope = (id: string, traceparent = PARENT): Envelope => ({
  id,
  topic: 'orders.created',
  key: 'k1',
  seq: 1,
  type: 't',
  source: '/s',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  headers: {},
  data: Buffer.from('{}'),
  traceparent,
  attempt: 1,
});

const message = (traceparent: string): Message =>
  ({ id: 'm1', topic: 'orders.created', backend: 'kafka-a', attempt: 2, traceparent }) as unknown as Message;

describe('OpenTelemetry spans', () => {
  it('without a registered SDK: no-op, messages go out unchanged', async () => {
    let seen: Envelope[] = [];
    const send = traceSend('kafka', async (msgs) => {
      seen = msgs;
      return msgs.map(() => ({ ok: true, receipt: {} }));
    });
    const sent = [envelope('a')];
    await send(sent);
    expect(seen).toEqual(sent);
  });

  describe('with an in-memory span processor', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    beforeAll(() => {
      expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    });
    afterAll(async () => {
      trace.disable();
      await provider.shutdown();
    });

    it('send <topic>: PRODUCER span per message, child of its traceparent, which it replaces', async () => {
      exporter.reset();
      let seen: Envelope[] = [];
      const failed = new MqgateError('MQGATE_ERR_BACKEND_REJECTED', 'no');
      const send = traceSend('kafka', async (msgs): Promise<PublishOutcome[]> => {
        seen = msgs;
        return [
          { ok: true, receipt: {} },
          { ok: false, error: failed },
        ];
      });
      await send([envelope('a'), envelope('b')]);
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).toEqual(['send orders.created', 'send orders.created']);
      const [a, b] = spans;
      expect(a!.kind).toBe(SpanKind.PRODUCER);
      expect(a!.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders.created',
        'messaging.message.id': 'a',
      });
      expect(a!.spanContext().traceId).toBe(TRACE_ID);
      expect(a!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
      expect(seen[0]!.traceparent).toBe(`00-${TRACE_ID}-${a!.spanContext().spanId}-01`);
      expect(a!.status.code).toBe(SpanStatusCode.UNSET);
      expect(b!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'MQGATE_ERR_BACKEND_REJECTED' });
    });

    it('send spans end as errors when publish throws', async () => {
      exporter.reset();
      const send = traceSend('redis', async () => {
        throw new Error('boom');
      });
      await expect(send([envelope('c')])).rejects.toThrow('boom');
      expect(exporter.getFinishedSpans()[0]!.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('process <topic>: CONSUMER span per handler call, child of the message traceparent', async () => {
      exporter.reset();
      const sendParent = `00-${TRACE_ID}-b7ad6b7169203331-01`;
      const handler = traceProcess(
        (backend) => (backend === 'kafka-a' ? 'kafka' : backend),
        async () => {},
      );
      const ctx = {} as Parameters<typeof handler>[1];
      await handler(message(sendParent), ctx);
      const failing = traceProcess(
        () => 'kafka',
        async () => {
          throw new Error('handler failed');
        },
      );
      await expect(failing(message(sendParent), ctx)).rejects.toThrow('handler failed');

      const [ok, bad] = exporter.getFinishedSpans();
      expect(ok!.name).toBe('process orders.created');
      expect(ok!.kind).toBe(SpanKind.CONSUMER);
      expect(ok!.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders.created',
        'messaging.message.id': 'm1',
      });
      expect(ok!.spanContext().traceId).toBe(TRACE_ID);
      expect(ok!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(bad!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'handler failed' });
      expect(bad!.events.map((e) => e.name)).toContain('exception');
    });
  });
});
