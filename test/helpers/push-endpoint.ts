import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request a push endpoint received. */
export interface Received {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The answer the endpoint gives: a status, and headers such as Retry-After. */
export type Answer = { status: number; headers?: Record<string, string> };

/**
 * A push endpoint on a free loopback port for tests: records every request and answers with `answer`.
 * `accepted` holds the requests it answered with a 2xx.
 */
export async function pushEndpoint(answer: (req: Received, all: readonly Received[]) => Answer) {
  const all: Received[] = [];
  const accepted: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks) };
      all.push(got);
      const a = answer(got, all);
      if (a.status >= 200 && a.status < 300) accepted.push(got);
      res.writeHead(a.status, a.headers ?? {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/events`,
    all,
    accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
