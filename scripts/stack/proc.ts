import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { StackError } from './errors.js';

/** Finds an executable on PATH (plus `extraDirs`), or fails with one line naming the Debian package. */
export function requireBinary(name: string, debianPackage: string, extraDirs: string[] = []): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs, '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  throw new StackError(
    `${name} not found: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`,
  );
}

export interface SpawnPlan {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  uid?: number;
  gid?: number;
}

/** Starts a process in a new process group (its pid is the group id), detached from the caller. */
export function spawnDetached(plan: SpawnPlan): number {
  const fd = openSync(plan.logFile, 'a');
  try {
    const child = spawn(plan.cmd, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(plan.uid === undefined ? {} : { uid: plan.uid, gid: plan.gid }),
    });
    child.on('error', () => {
      // reported by the readiness wait, which sees the process gone
    });
    child.unref();
    if (child.pid === undefined) throw new StackError(`could not start ${plan.cmd}`, plan.logFile);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export interface ProcInfo {
  /** Kernel state letter: R, S, D, T (stopped), Z (zombie), ... */
  state: string;
  /** Start time in clock ticks since boot; together with the pid it identifies a process. */
  startTime: string;
}

/** Reads /proc/<pid>/stat; undefined when there is no such process. */
export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', startTime: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** True while the process with this pid and start time exists and is not a zombie. */
export function isAlive(pid: number, startTime?: string): boolean {
  const info = procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  return startTime === undefined || info.startTime === startTime;
}

/** Sends a signal to a whole process group; ignores a group that is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Sends a signal to one process (not its group); ignores a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs: number;
  /** Used in the timeout message: "<what> not ready after 60s". */
  what: string;
  logFile?: string;
  intervalMs?: number;
  /** Checked between attempts: when it returns false the wait fails at once (the process died). */
  alive?: () => boolean;
}

/** Polls `probe` until it resolves true; bounded, with a message that points at the log file. */
export async function waitUntil(probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (opts.alive && !opts.alive()) {
      throw new StackError(`${opts.what}: the process exited during start`, opts.logFile);
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${lastError})` : '';
      throw new StackError(`${opts.what} not ready after ${opts.timeoutMs / 1000}s${why}`, opts.logFile);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with a bounded time; the output is returned, not printed. */
export function run(
  cmd: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs: number;
    uid?: number;
    gid?: number;
    /** Written to stdin, which is then closed (empty without it). */
    input?: string;
  },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    child.stdin.end(opts.input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new StackError(`${cmd} ${args.join(' ')} timed out after ${opts.timeoutMs / 1000}s`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Pids of processes whose environment holds `VAR=value` (the stack's marker), readable ones only. */
export function pidsWithEnv(variable: string, value: string): number[] {
  if (!existsSync('/proc')) return [];
  const needle = `\0${variable}=${value}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (`\0${environ}`.includes(needle)) found.push(pid);
    } catch {
      // gone or not ours
    }
  }
  return found;
}

/** uid and gid of a local user from /etc/passwd, or undefined. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no passwd file
  }
  return undefined;
}

/** True when every existing directory from `path` up to / can be entered by this uid/gid (the x bit). */
export function traversableBy(path: string, user: { uid: number; gid: number }): boolean {
  let dir = path;
  for (;;) {
    if (existsSync(dir)) {
      const st = statSync(dir);
      const ok =
        st.mode & 0o001 ||
        (st.uid === user.uid && st.mode & 0o100) ||
        (st.gid === user.gid && st.mode & 0o010);
      if (!ok) return false;
    }
    const parent = dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}
