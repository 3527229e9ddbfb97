import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { StackError } from './errors.js';
import { STACK_MARKER_VAR, stackDir } from './paths.js';
import { HOST, SINGLE } from './ports.js';
import { isAlive, lookupUser, requireBinary, run, traversableBy } from './proc.js';
import type { ServiceDef } from './service.js';

/**
 * The stack's own PostgreSQL server, for the postgres outbox driver: Debian's binaries, a cluster of its own
 * under .stack/postgres/data, 127.0.0.1 only, trust auth, a database `mqgate`. Durability is PostgreSQL's
 * default (fsync, synchronous_commit and full_page_writes on), pinned on the command line so that a
 * postgresql.conf edit cannot turn it off. The system server (port 5432, /var/run/postgresql) is never used.
 */

const DEBIAN_ROOT = '/usr/lib/postgresql';
const DATABASE = 'mqgate';
const SUPERUSER = 'postgres';
const port = SINGLE.postgres;

export const postgresUrl = `postgres://${SUPERUSER}@${HOST}:${port}/${DATABASE}`;

/** Major versions installed the Debian way (/usr/lib/postgresql/<major>/bin/initdb), highest first. */
function installedMajors(): number[] {
  if (!existsSync(DEBIAN_ROOT)) return [];
  return readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb')))
    .map(Number)
    .sort((a, b) => b - a);
}

/** A data dir's major version (its PG_VERSION file), or undefined when there is no cluster yet. */
function clusterMajor(dataDir: string): number | undefined {
  const file = join(dataDir, 'PG_VERSION');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

/**
 * The directory of initdb and postgres: the version that made the existing cluster, else the highest one
 * installed, else initdb on PATH. A cluster of a version that is no longer installed fails with what to do.
 */
export function postgresBinDir(): string {
  const majors = installedMajors();
  const made = clusterMajor(dataDir());
  if (made !== undefined && majors.length > 0) {
    if (majors.includes(made)) return join(DEBIAN_ROOT, String(made), 'bin');
    throw new StackError(
      `postgres: ${dataDir()} was made by PostgreSQL ${made}, which is not installed ` +
        `(installed: ${majors.join(', ')}); remove that directory to start afresh`,
    );
  }
  if (majors.length > 0) return join(DEBIAN_ROOT, String(majors[0]), 'bin');
  return dirname(requireBinary('initdb', 'postgresql'));
}

let cachedVersion: string | undefined;

function postgresVersion(): string {
  if (cachedVersion === undefined) {
    const out = execFileSync(join(postgresBinDir(), 'postgres'), ['--version'], { encoding: 'utf8' });
    cachedVersion = /(\d+(?:\.\d+)*)/.exec(out)?.[1] ?? 'unknown';
  }
  return cachedVersion;
}

/**
 * PostgreSQL refuses to run as root, so as root the stack runs it as the `postgres` system user (the way
 * rabbitmq.ts runs its nodes as `rabbitmq`); otherwise as the caller.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = lookupUser('postgres');
  if (!user) {
    throw new StackError(
      'postgres: running the stack as root needs the postgres system user (apt-get install -y postgresql)',
    );
  }
  return user;
}

let cachedBase: string | undefined;

/**
 * Root of the server's files, and its unix socket directory: .stack/postgres, unless the server's user cannot
 * walk to it (a clone under /root) or the socket path would not fit in sun_path (107 bytes); then
 * /tmp/mqgate-stack-<hash>/postgres, beside the RabbitMQ fallback.
 */
function baseDir(): string {
  if (cachedBase) return cachedBase;
  const user = postgresUser();
  const preferred = join(stackDir, 'postgres');
  const socketFits = Buffer.byteLength(join(preferred, `.s.PGSQL.${port}.lock`)) <= 107;
  if (socketFits && (!user || traversableBy(stackDir, user))) {
    cachedBase = preferred;
  } else {
    const hash = createHash('sha1').update(stackDir).digest('hex').slice(0, 10);
    cachedBase = join('/tmp', `mqgate-stack-${hash}`, 'postgres');
  }
  return cachedBase;
}

const dataDir = () => join(baseDir(), 'data');
const outFile = () => join(baseDir(), 'postgres.out');

/** A clean environment: nothing from the caller's PG* variables, the stack's marker for `down`. */
function serverEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    LANG: 'C',
    LC_ALL: 'C',
    [STACK_MARKER_VAR]: stackDir,
  };
}

/** Runs one of the PostgreSQL tools as the server's user; a failure leaves its output in `<base>/<what>.out`. */
async function runTool(what: string, args: string[], input?: string): Promise<string> {
  const user = postgresUser();
  const result = await run(join(postgresBinDir(), args[0]!), args.slice(1), {
    cwd: baseDir(),
    env: serverEnv(),
    timeoutMs: 120_000,
    ...(input === undefined ? {} : { input }),
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const output = result.stdout + result.stderr;
  // Single-user mode exits 0 after a failed statement; its errors are only in the output.
  if (result.code !== 0 || /^(ERROR|FATAL|PANIC):/m.test(output)) {
    const out = join(baseDir(), `${what}.out`);
    writeFileSync(out, output);
    throw new StackError(`postgres: ${what} failed`, out);
  }
  return output;
}

/**
 * First start: initdb into a scratch directory, create the database in single-user mode (no server, no
 * socket), then rename it into place, so an interrupted init never leaves a half-made cluster behind.
 */
async function initCluster(): Promise<void> {
  const scratch = join(baseDir(), 'data.init');
  rmSync(scratch, { recursive: true, force: true });
  await runTool('initdb', [
    'initdb',
    '-D',
    scratch,
    '-U',
    SUPERUSER,
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
  ]);
  await runTool(
    'create-database',
    ['postgres', '--single', '-D', scratch, 'postgres'],
    `CREATE DATABASE ${DATABASE};\n`,
  );
  renameSync(scratch, dataDir());
}

/**
 * After a SIGKILL the lock files stay: data/postmaster.pid and the socket's .s.PGSQL.<port>.lock, each
 * naming the dead postmaster. PostgreSQL removes them itself when that pid is gone, but refuses to start
 * when `kill(pid, 0)` still succeeds: a zombie not yet reaped (seen here right after a kill: PID 1 of this
 * VM reaps late) or a pid reused by a process of its own user (the system server's backends run as
 * postgres too). So each file goes unless its pid is a live postmaster of this data dir, which is an error
 * (a stray from an earlier run).
 */
function clearStaleLockFiles(): void {
  for (const file of [join(dataDir(), 'postmaster.pid'), join(baseDir(), `.s.PGSQL.${port}.lock`)]) {
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && servesOurData(pid)) {
      throw new StackError(
        `postgres: a postmaster from an earlier run (pid ${pid}) still serves ${dataDir()}; ` +
          '`npm run stack -- down` stops it',
      );
    }
    rmSync(file, { force: true });
  }
}

function servesOurData(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir());
  } catch {
    return false;
  }
}

function ownedDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  const user = postgresUser();
  if (user) chownSync(path, user.uid, user.gid);
}

/** One server of the single-node stack. */
export function singlePostgres(): ServiceDef[] {
  return [
    {
      name: 'postgres',
      kind: 'postgres',
      mode: 'single',
      url: postgresUrl,
      get logFile() {
        return outFile();
      },
      get outFile() {
        return outFile();
      },
      // Crash recovery after a kill replays the WAL before the server accepts connections.
      readyTimeoutMs: 60_000,
      // Fast shutdown (SIGINT): disconnects the clients, rolls back open transactions, writes a checkpoint.
      // SIGTERM would be a smart shutdown, which waits for every client (a test's pool) to leave.
      stopTimeoutMs: 30_000,
      stopSignal: 'SIGINT',
      version: postgresVersion,
      async prepare() {
        postgresBinDir();
        const base = baseDir();
        if (!base.startsWith(stackDir)) {
          mkdirSync(dirname(base), { recursive: true });
          chmodSync(dirname(base), 0o755);
        }
        ownedDir(base);
        if (clusterMajor(dataDir()) === undefined) await initCluster();
        else clearStaleLockFiles();
      },
      plan() {
        const user = postgresUser();
        const settings = [
          `listen_addresses=${HOST}`,
          `port=${port}`,
          `unix_socket_directories=${baseDir()}`,
          'fsync=on',
          'synchronous_commit=on',
          'full_page_writes=on',
          'logging_collector=off',
        ];
        return {
          cmd: join(postgresBinDir(), 'postgres'),
          args: ['-D', dataDir(), ...settings.flatMap((s) => ['-c', s])],
          cwd: baseDir(),
          env: serverEnv(),
          logFile: outFile(),
          ...(user ? { uid: user.uid, gid: user.gid } : {}),
        };
      },
      async probe() {
        const client = new pg.Client({
          connectionString: postgresUrl,
          connectionTimeoutMillis: 2000,
          query_timeout: 2000,
        });
        client.on('error', () => {
          // surfaced through the rejected query
        });
        try {
          await client.connect();
          const { rows } = await client.query<{ recovering: boolean }>(
            'SELECT pg_is_in_recovery() AS recovering',
          );
          return rows[0]?.recovering === false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
    },
  ];
}
