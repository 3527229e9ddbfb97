/**
 * `npm run stack -- <command>`: see docs/stack.md. Prints one clear line per failure and exits 1.
 */
import { StackError } from './errors.js';
import {
  formatStatus,
  serviceKill,
  servicePause,
  serviceResume,
  serviceStart,
  serviceStop,
  stackDown,
  stackStatus,
  stackUp,
} from './index.js';
import { fetchKafka } from './kafka-fetch.js';
import { envFile } from './paths.js';

const USAGE = `usage: npm run stack -- <command>
  up [--ha]          start the brokers and PostgreSQL (HA: 3 Kafka, 3 RabbitMQ, Redis primary + 2 replicas
                     + 3 sentinels)
  down               stop everything the stack started
  status [--json]    state, version, pid, url and log of each service
  kill <service>     SIGKILL (crash)          stop <service>    clean stop (SIGTERM)
  start <service>    start again, same data   pause <service>   SIGSTOP    resume <service>   SIGCONT
  fetch              download the Kafka jars (cached)`;

const log = (line: string) => console.log(line);
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flag = (f: string) => rest.includes(f);
  const service = () => {
    const name = rest.find((a) => !a.startsWith('-'));
    if (!name) throw new StackError(`${cmd} needs a service name; see \`npm run stack -- status\``);
    return name;
  };
  const t0 = performance.now();
  switch (cmd) {
    case 'up': {
      await stackUp({ ha: flag('--ha'), log });
      console.log(formatStatus(stackStatus()));
      console.log(`stack ${flag('--ha') ? 'HA ' : ''}up in ${seconds(t0)}s; settings in ${envFile}`);
      return 0;
    }
    case 'down':
      await stackDown({ log });
      console.log(`stack down in ${seconds(t0)}s`);
      return 0;
    case 'status': {
      const rows = stackStatus();
      console.log(flag('--json') ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      return 0;
    }
    case 'kill':
      await serviceKill(service());
      break;
    case 'stop':
      await serviceStop(service(), log);
      break;
    case 'start':
      await serviceStart(service(), log);
      break;
    case 'pause':
      await servicePause(service());
      break;
    case 'resume':
      await serviceResume(service());
      break;
    case 'fetch': {
      const libs = await fetchKafka(log);
      console.log(`kafka jars in ${libs} (${seconds(t0)}s)`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      console.error(`unknown command "${cmd}"\n${USAGE}`);
      return 1;
  }
  console.log(`${cmd} ${service()}: done in ${seconds(t0)}s`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof StackError ? `stack: ${err.message}` : err);
    process.exitCode = 1;
  },
);
