import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StackError } from './errors.js';
import { isAlive, procInfo, signalGroup, signalProcess, sleep, spawnDetached, waitUntil } from './proc.js';
import type { ServiceDef, ServiceState, ServiceStatus } from './service.js';
import { type ProcessRecord, readState, updateState } from './state.js';

export type Log = (line: string) => void;

/** The record of a service whose process is still ours and alive, else undefined. */
export function liveRecord(name: string): ProcessRecord | undefined {
  const rec = readState().services[name];
  return rec && isAlive(rec.pid, rec.startTime) ? rec : undefined;
}

export function serviceState(name: string): ServiceState {
  const rec = liveRecord(name);
  if (!rec) return 'stopped';
  return procInfo(rec.pid)?.state === 'T' ? 'paused' : 'running';
}

export function describe(def: ServiceDef): ServiceStatus {
  const rec = liveRecord(def.name);
  const state = serviceState(def.name);
  return {
    name: def.name,
    kind: def.kind,
    mode: def.mode,
    state,
    pid: state === 'stopped' ? null : (rec?.pid ?? null),
    version: rec?.version ?? null,
    url: def.url,
    logFile: def.logFile,
  };
}

async function waitReady(def: ServiceDef, pid: number): Promise<void> {
  await waitUntil(def.probe, {
    timeoutMs: def.readyTimeoutMs,
    what: def.name,
    logFile: def.logFile,
    alive: () => isAlive(pid),
  });
}

/**
 * Starts a service unless it already runs (a paused one is resumed), then waits until it answers a real
 * request. A process that does not get ready in time is killed, and the error names its log.
 */
export async function startService(def: ServiceDef, log: Log): Promise<'started' | 'already running'> {
  const running = liveRecord(def.name);
  if (running) {
    if (procInfo(running.pid)?.state === 'T') signalGroup(running.pid, 'SIGCONT');
    await waitReady(def, running.pid);
    return 'already running';
  }
  await def.prepare();
  const plan = def.plan();
  mkdirSync(dirname(plan.logFile), { recursive: true });
  const pid = spawnDetached(plan);
  const info = procInfo(pid);
  await updateState((s) => {
    s.services[def.name] = {
      pid,
      startTime: info?.startTime ?? '',
      mode: def.mode,
      version: def.version(),
      startedAt: new Date().toISOString(),
    };
  });
  log(`${def.name}: started pid ${pid}, waiting until it answers (log: ${def.logFile})`);
  try {
    await waitReady(def, pid);
  } catch (err) {
    signalGroup(pid, 'SIGKILL');
    throw err;
  }
  return 'started';
}

async function waitGone(pid: number, startTime: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid, startTime)) return true;
    await sleep(100);
  }
  return !isAlive(pid, startTime);
}

/**
 * Clean stop: SIGTERM to the process group, or the service's own stop signal to its main process (resumed
 * first if paused, or it would never see the signal), SIGKILL when it is not gone within the service's stop
 * timeout. Leaves the data in place.
 */
export async function stopService(def: ServiceDef, log: Log, timeoutMs = def.stopTimeoutMs): Promise<void> {
  const rec = liveRecord(def.name);
  if (!rec) return;
  signalGroup(rec.pid, 'SIGCONT');
  if (def.stopSignal) signalProcess(rec.pid, def.stopSignal);
  else signalGroup(rec.pid, 'SIGTERM');
  if (!(await waitGone(rec.pid, rec.startTime, timeoutMs))) {
    log(
      `${def.name}: still running ${timeoutMs / 1000}s after ${def.stopSignal ?? 'SIGTERM'}, sending SIGKILL`,
    );
  }
  // Also reaps helpers left in the group (erl_child_setup, inet_gethost).
  signalGroup(rec.pid, 'SIGKILL');
  if (!(await waitGone(rec.pid, rec.startTime, 5000))) {
    throw new StackError(`${def.name}: pid ${rec.pid} survived SIGKILL`);
  }
}

/** Crash: SIGKILL to the process group, no chance to flush or leave a cluster. */
export async function killService(def: ServiceDef): Promise<void> {
  const rec = liveRecord(def.name);
  if (!rec) return;
  signalGroup(rec.pid, 'SIGKILL');
  if (!(await waitGone(rec.pid, rec.startTime, 5000))) {
    throw new StackError(`${def.name}: pid ${rec.pid} survived SIGKILL`);
  }
}

/** Freeze (SIGSTOP) or thaw (SIGCONT) the whole process group: a hung broker, for chaos tests. */
export function signalService(def: ServiceDef, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const rec = liveRecord(def.name);
  if (!rec) throw new StackError(`${def.name} is not running`);
  signalGroup(rec.pid, signal);
}
