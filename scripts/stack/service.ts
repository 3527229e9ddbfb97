import type { SpawnPlan } from './proc.js';

/** `single` is the default stack, `ha` the clustered one; `shared` helpers (epmd) serve both. */
export type Mode = 'single' | 'ha' | 'shared';

export type ServiceKind = 'kafka' | 'rabbitmq' | 'redis' | 'sentinel' | 'epmd' | 'postgres';

/** What the lifecycle needs to know about one server process. */
export interface ServiceDef {
  name: string;
  kind: ServiceKind;
  mode: Mode;
  /** How a client reaches it: host:port for Kafka, amqp://..., redis://... or postgres://... otherwise. */
  url: string;
  /** Where the server writes its own log (stdout and stderr go to `<dir>/<name>.out`). */
  logFile: string;
  /** Where stdout and stderr of the process go. */
  outFile: string;
  /** Checks binaries, writes config, formats storage. Idempotent; keeps existing data. */
  prepare(): Promise<void>;
  /** The command that runs the server in the foreground. */
  plan(): SpawnPlan;
  /** One real request against the server; resolves true once it answers as expected. */
  probe(): Promise<boolean>;
  readyTimeoutMs: number;
  /** How long a clean stop (SIGTERM) may take before SIGKILL. */
  stopTimeoutMs: number;
  /**
   * Signal for a clean stop, sent to the main process alone (it stops its children itself). Without it a
   * clean stop is SIGTERM to the whole process group.
   */
  stopSignal?: NodeJS.Signals;
  version(): string;
}

/** Runtime state of a service, as `status` reports it. */
export type ServiceState = 'running' | 'stopped' | 'paused';

export interface ServiceStatus {
  name: string;
  kind: ServiceKind;
  mode: Mode;
  state: ServiceState;
  pid: number | null;
  version: string | null;
  url: string;
  logFile: string;
}
