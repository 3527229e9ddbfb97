/**
 * Child processes of the benchmark: servers (the gateway, the bare route) started with tsx in their own
 * process, their RSS, and bounded waits.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

export const run = promisify(execFile);
/** The repository root (bench/lib/../..). */
export const ROOT = new URL('../..', import.meta.url).pathname;

/** A server child process and the URL it printed. */
export interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it wrote so far, for error messages. */
  output(): string;
}

/**
 * Starts `node [nodeArgs] --import tsx <args>` in `cwd` and resolves with the first `http://127.0.0.1:<port>`
 * it prints (Fastify's listen log or the bare server's line); rejects after 30 s or when it exits first.
 */
export function startServer(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { nodeArgs?: string[]; cwd?: string } = {},
): Promise<Server> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_PATH: `${ROOT}node_modules`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${out}`));
    }, 30_000);
    let started = false;
    const onData = (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        resolve({ child, url: m[0], output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`server exited ${code}:\n${out}`));
    });
  });
}

/** Sends `signal` and resolves once the process exited (SIGKILL after 15 s). */
export async function stopServer(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of a process in MB (from `ps`). */
export async function rssMb(pid: number): Promise<number> {
  const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Math.round(Number(stdout.trim()) / 1024);
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` returns the peak. */
export function rssSampler(pid: number, everyMs = 500): { stop(): number; peak(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    rssMb(pid).then(
      (r) => (peak = Math.max(peak, r)),
      () => {},
    );
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
    peak: () => peak,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it is true; rejects naming `what` after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
