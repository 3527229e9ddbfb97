#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, packageRoot, redactConfig } from '../config/index.js';
import { CliError, type ClientOptions, call, EXIT, print } from './gateway-client.js';
import { replayAll } from './replay-progress.js';

/**
 * `mqgate`: run the gateway, or operate a running one over its HTTP API. docs/cli.md lists the commands
 * and exit codes. Output is JSON on stdout; errors are one line on stderr.
 */

const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;

function client(cmd: Command): ClientOptions {
  const o = cmd.optsWithGlobals<{ url: string; token?: string }>();
  return { url: o.url, token: o.token };
}

function readInput(file: string | undefined): Buffer {
  if (file === undefined || file === '-') return readFileSync(0);
  return readFileSync(file);
}

function configCheck(file: string | undefined) {
  try {
    return loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliError(err.problems.map((p) => `config: ${p}`).join('\n'), EXIT.CONFIG);
    throw err;
  }
}

const program = new Command('mqgate')
  .description('Durable HTTP message gateway to Kafka, RabbitMQ and Redis')
  .version(version)
  .addOption(new Option('--url <url>', 'gateway base URL').env('MQGATE_URL').default('http://127.0.0.1:8080'))
  .addOption(new Option('--token <token>', 'API key or JWT (Authorization: Bearer)').env('MQGATE_TOKEN'))
  .showHelpAfterError()
  .exitOverride();

program
  .command('serve')
  .description('run the gateway (config from MQGATE_CONFIG or config/default.yaml); stops on SIGTERM/SIGINT')
  .action(async () => {
    const { serve } = await import('../serve.js');
    await serve();
  });

program
  .command('publish <topic> [file]')
  .description(
    'publish one message read from a file, --file, or stdin ("-" or none); prints { id, seq, status }',
  )
  .option('-k, --key <key>', 'message key (per-key order)')
  .option('-f, --file <path>', 'read the payload from a file ("-" or absent: stdin)')
  .option('--id <id>', 'idempotency key (message id)')
  .option('-t, --content-type <type>', 'payload media type', 'application/octet-stream')
  .option('--wait', 'wait until a broker acknowledged (201), up to 5 s')
  .action(
    async (
      topic: string,
      file: string | undefined,
      o: { key?: string; file?: string; id?: string; contentType: string; wait?: boolean },
      cmd: Command,
    ) => {
      const headers: Record<string, string> = {};
      if (o.key) headers['message-key'] = o.key;
      if (o.id) headers['idempotency-key'] = o.id;
      const path = `/v1/topics/${encodeURIComponent(topic)}/messages${o.wait ? '?wait=delivered' : ''}`;
      print(
        await call(
          client(cmd),
          'POST',
          path,
          { bytes: readInput(o.file ?? file), contentType: o.contentType },
          headers,
        ),
      );
    },
  );

const outbox = program.command('outbox').description('the outbox of a running gateway');
outbox
  .command('status')
  .description('depth, bytes, oldest age and dead count, in total and per topic')
  .action(async (_o, cmd: Command) => {
    const c = client(cmd);
    const total = await call(c, 'GET', '/v1/outbox');
    const topics = (await call(c, 'GET', '/v1/outbox/topics')) as { topics: unknown[] };
    print({ ...(total as object), topics: topics.topics });
  });

const dlq = program.command('dlq').description('the dead-letter store of a running gateway');
dlq
  .command('list')
  .description('dead messages with their errors, one page')
  .option('--topic <topic>', 'only this topic')
  .option('--limit <n>', 'page size (1-1000)', '100')
  .option('--after <id>', 'the `next` of the previous page')
  .action(async (o: { topic?: string; limit: string; after?: string }, cmd: Command) => {
    const q = new URLSearchParams({ limit: o.limit });
    if (o.topic) q.set('topic', o.topic);
    if (o.after) q.set('after', o.after);
    print(await call(client(cmd), 'GET', `/v1/dlq?${q}`));
  });
dlq
  .command('replay [id]')
  .description(
    'replay one dead message by id, or (without id) those of --topic / all, up to --limit; --all pages ' +
      'through every one with progress on stderr; --to replays to another topic as new messages',
  )
  .option('--topic <topic>', 'bulk: only this topic')
  .option('--limit <n>', 'bulk: at most this many', '1000')
  .option('--all', 'bulk: every dead message (of --topic), page by page, printing `replayed N/M` on stderr')
  .option('--to <topic>', 'replay to this topic as new messages `<id>~replay~<topic>`')
  .action(
    async (
      id: string | undefined,
      o: { topic?: string; limit: string; all?: boolean; to?: string },
      cmd: Command,
    ) => {
      const c = client(cmd);
      if (id !== undefined) {
        if (o.all || o.topic) throw new CliError('give an id, or --all / --topic, not both', EXIT.USAGE);
        const body = o.to
          ? { bytes: JSON.stringify({ topic: o.to }), contentType: 'application/json' }
          : undefined;
        print(await call(c, 'POST', `/v1/dlq/${encodeURIComponent(id)}/replay`, body));
        return;
      }
      if (o.all) {
        print(await replayAll(c, { topic: o.topic, toTopic: o.to, pageSize: 500, progress: process.stderr }));
        return;
      }
      const body = JSON.stringify({
        ...(o.topic ? { topic: o.topic } : {}),
        ...(o.to ? { toTopic: o.to } : {}),
        limit: Number(o.limit),
      });
      print(await call(c, 'POST', '/v1/dlq:replay', { bytes: body, contentType: 'application/json' }));
    },
  );
dlq
  .command('delete <id>')
  .description('delete one dead message for good')
  .action(async (id: string, _o, cmd: Command) => {
    await call(client(cmd), 'DELETE', `/v1/dlq/${encodeURIComponent(id)}`);
    print({ id, deleted: true });
  });

program
  .command('tail <topic>')
  .description(
    'consume <topic> as a member of --group with the SDK and print each message as one JSON line ' +
      '(id, topic, key, seq, backend, headers, data) until Ctrl-C',
  )
  .requiredOption('-g, --group <group>', 'consumer group (use one of its own: members share the messages)')
  .option('--from-beginning', 'also print what the group reads from before the tail started')
  .option('-c, --config <path>', 'config file (default MQGATE_CONFIG, else config/default.yaml)')
  .action(async (topic: string, o: { group: string; fromBeginning?: boolean; config?: string }) => {
    const loaded = configCheck(o.config);
    const { tail } = await import('./tail.js');
    const stop = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await tail({
      config: loaded,
      topic,
      group: o.group,
      fromBeginning: o.fromBeginning === true,
      out: process.stdout,
      stop,
      onReady: () => process.stderr.write(`mqgate: tail: consuming ${topic} as group ${o.group}\n`),
    });
  });

program
  .command('backends')
  .description('backends of a running gateway with their breaker state and last error')
  .action(async (_o, cmd: Command) => print(await call(client(cmd), 'GET', '/v1/backends')));

const config = program
  .command('config')
  .description('check or show a config file (MQGATE_CONFIG, env overrides)');
config
  .command('validate')
  .description('validate; prints "ok" or one line per problem (exit 2)')
  .option('-c, --file <path>', 'config file (default MQGATE_CONFIG, else config/default.yaml)')
  .action((o: { file?: string }) => {
    const loaded = configCheck(o.file);
    process.stdout.write(`ok: ${loaded.source ?? 'config'}\n`);
  });
config
  .command('print')
  .description('the effective config (defaults and env applied) as YAML, every secret masked')
  .option('-c, --file <path>', 'config file (default MQGATE_CONFIG, else config/default.yaml)')
  .action((o: { file?: string }) => {
    process.stdout.write(stringify(redactConfig(configCheck(o.file))));
  });

program
  .command('stack')
  .description('the local broker stack (up [--ha] | down | status | ...); needs a source checkout with tsx')
  .allowUnknownOption()
  .helpOption(false)
  .argument('[args...]', 'passed to scripts/stack/cli.ts (see docs/stack.md)')
  .action(async (args: string[]) => {
    const root = packageRoot();
    const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'scripts/stack/cli.ts'), ...args], {
      stdio: 'inherit',
      cwd: root,
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    process.exitCode = code;
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return;
  }
  if (err instanceof CliError) {
    process.stderr.write(`mqgate: ${err.message}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  process.stderr.write(`mqgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = EXIT.FAILED;
});
