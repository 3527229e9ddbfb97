import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { StackError } from './errors.js';
import { cachedKafkaLibs } from './kafka-fetch.js';
import { KAFKA_VERSION, STACK_MARKER_VAR, stackDir } from './paths.js';
import { HA, HOST, SINGLE } from './ports.js';
import { requireBinary, run } from './proc.js';
import type { ServiceDef } from './service.js';

interface KafkaNodeSpec {
  name: string;
  nodeId: number;
  broker: number;
  controller: number;
}

interface KafkaClusterSpec {
  mode: 'single' | 'ha';
  nodes: KafkaNodeSpec[];
  replicationFactor: number;
  minInsyncReplicas: number;
}

const SINGLE_CLUSTER: KafkaClusterSpec = {
  mode: 'single',
  nodes: [{ name: 'kafka', nodeId: 1, ...SINGLE.kafka }],
  replicationFactor: 1,
  minInsyncReplicas: 1,
};

const HA_CLUSTER: KafkaClusterSpec = {
  mode: 'ha',
  nodes: HA.kafka.map((ports, i) => ({ name: `kafka-${i + 1}`, nodeId: i + 1, ...ports })),
  replicationFactor: 3,
  minInsyncReplicas: 2,
};

function javaBinary(): string {
  if (process.env.JAVA_HOME && existsSync(join(process.env.JAVA_HOME, 'bin', 'java'))) {
    return join(process.env.JAVA_HOME, 'bin', 'java');
  }
  return requireBinary('java', 'default-jre-headless');
}

function libsDir(): string {
  const libs = cachedKafkaLibs();
  if (!libs)
    throw new StackError(`Kafka ${KAFKA_VERSION} jars are not cached: run \`npm run stack -- fetch\``);
  return libs;
}

/** A KRaft cluster id (16 random bytes, base64url), made once per mode and kept with the data. */
function clusterId(mode: string): string {
  const file = join(stackDir, `kafka-cluster-id-${mode}`);
  if (!existsSync(file)) {
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(file, randomBytes(16).toString('base64url'));
  }
  return readFileSync(file, 'utf8').trim();
}

function serverProperties(cluster: KafkaClusterSpec, node: KafkaNodeSpec, dir: string): string {
  const voters = cluster.nodes.map((n) => `${n.nodeId}@${HOST}:${n.controller}`).join(',');
  const rf = cluster.replicationFactor;
  const isr = cluster.minInsyncReplicas;
  return [
    '# Written by scripts/stack/kafka.ts; rewritten on each start.',
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${HOST}:${node.broker},CONTROLLER://${HOST}:${node.controller}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${node.broker}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${isr}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${isr}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${isr}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

/** log4j2 config: everything to <dir>/logs/server.log, nothing to the terminal. */
const LOG4J2 = `status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
`;

function jvmArgs(dir: string): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    '-cp',
    `${libsDir()}/*`,
  ];
}

function kafkaNode(cluster: KafkaClusterSpec, node: KafkaNodeSpec): ServiceDef {
  const dir = join(stackDir, node.name);
  const props = join(dir, 'server.properties');
  const env = () => ({ ...process.env, [STACK_MARKER_VAR]: stackDir });
  return {
    name: node.name,
    kind: 'kafka',
    mode: cluster.mode,
    url: `${HOST}:${node.broker}`,
    logFile: join(dir, 'logs', 'server.log'),
    outFile: join(dir, `${node.name}.out`),
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 30_000,
    version: () => KAFKA_VERSION,
    async prepare() {
      javaBinary();
      mkdirSync(join(dir, 'logs'), { recursive: true });
      writeFileSync(props, serverProperties(cluster, node, dir));
      writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
      if (existsSync(join(dir, 'data', 'meta.properties'))) return;
      // First start: format the log dir for KRaft (what kafka-storage.sh format does).
      const result = await run(
        javaBinary(),
        [...jvmArgs(dir), 'kafka.tools.StorageTool', 'format', '-t', clusterId(cluster.mode), '-c', props],
        { cwd: dir, env: env(), timeoutMs: 120_000 },
      );
      if (result.code !== 0) {
        const out = join(dir, 'format.out');
        writeFileSync(out, result.stdout + result.stderr);
        throw new StackError(`kafka: formatting storage of ${node.name} failed`, out);
      }
    },
    plan() {
      return {
        cmd: javaBinary(),
        args: [...jvmArgs(dir), 'kafka.Kafka', props],
        cwd: dir,
        env: env(),
        logFile: join(dir, `${node.name}.out`),
      };
    },
    async probe() {
      // A single node is only ready once it can also coordinate groups; an HA node checks that as a cluster.
      const brokers = await describeBrokers(node.broker, cluster.mode === 'single');
      return brokers.includes(node.nodeId);
    },
  };
}

/**
 * Node ids of the live brokers, asked through one broker's metadata (a real Kafka request). With
 * `coordinator`, also looks up a group so that the offsets topic exists and is loaded: right after a start
 * the first consumer otherwise meets "The coordinator is loading" and restarts itself.
 */
export async function describeBrokers(port: number, coordinator = false): Promise<number[]> {
  const kafka = new Kafka({
    clientId: 'mqgate-stack',
    brokers: [`${HOST}:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    if (coordinator) await admin.describeGroups(['mqgate-stack-probe']);
    return brokers.map((b) => b.nodeId);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** True when the HA cluster's first broker sees all three brokers. */
export async function kafkaHaReady(): Promise<boolean> {
  const ids = await describeBrokers(HA.kafka[0].broker, true);
  return HA_CLUSTER.nodes.every((n) => ids.includes(n.nodeId));
}

export function singleKafka(): ServiceDef[] {
  return SINGLE_CLUSTER.nodes.map((n) => kafkaNode(SINGLE_CLUSTER, n));
}

export function haKafka(): ServiceDef[] {
  return HA_CLUSTER.nodes.map((n) => kafkaNode(HA_CLUSTER, n));
}
