/** Exit codes of `mqgate` (docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** The gateway answered with an error (4xx/5xx); its problem `code` is printed. */
  FAILED: 1,
  /** The config does not validate. */
  CONFIG: 2,
  /** The gateway could not be reached. */
  UNREACHABLE: 3,
  /** Bad command line (unknown command or option, missing argument). */
  USAGE: 64,
} as const;

/** An error that ends the CLI with `exitCode` after printing `message` on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  readonly url: string;
  /** API key or JWT, sent as `Authorization: Bearer`. */
  readonly token?: string | undefined;
  readonly timeoutMs?: number;
}

/**
 * One request to a running gateway. Resolves with the parsed JSON body of a 2xx answer (undefined for 204);
 * rejects with a CliError: FAILED with the problem's code and detail, or UNREACHABLE.
 */
export async function call(
  options: ClientOptions,
  method: string,
  path: string,
  body?: { bytes: Buffer | string; contentType: string },
  headers: Record<string, string> = {},
): Promise<unknown> {
  const all: Record<string, string> = { ...headers };
  if (options.token) all.authorization = `Bearer ${options.token}`;
  if (body) all['content-type'] = body.contentType;
  let res: Response;
  try {
    res = await fetch(new URL(path, options.url), {
      method,
      headers: all,
      ...(body ? { body: body.bytes } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const why =
      err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new CliError(`cannot reach the gateway at ${options.url}: ${why}`, EXIT.UNREACHABLE);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const problem = parsed as { code?: string; detail?: string } | undefined;
    const code = problem?.code ?? `HTTP ${res.status}`;
    throw new CliError(`${code}: ${problem?.detail ?? text}`, EXIT.FAILED);
  }
  return parsed;
}

/** Prints a value as indented JSON on stdout. */
export function print(value: unknown): void {
  if (value !== undefined) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
