import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './errors.js';
import { KAFKA_VERSION, kafkaCacheDir } from './paths.js';
import { requireBinary, run } from './proc.js';

/**
 * The Kafka broker is not packaged for Debian: `mvn` resolves org.apache.kafka:kafka_2.13 and its runtime
 * dependencies from Maven Central into a cache outside the repo. Kafka 4 logs through log4j2; its POM
 * leaves the SLF4J binding to the distribution, so we add log4j-slf4j2-impl (and a matching slf4j-api 2).
 */
const LOG4J_VERSION = '2.25.5';
const SLF4J_VERSION = '2.0.17';

function pom(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mqgate</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', version)}
${dep('org.slf4j', 'slf4j-api', SLF4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

/** The libs directory once its download completed (a marker file says so), else undefined. */
export function cachedKafkaLibs(version = KAFKA_VERSION): string | undefined {
  const dir = kafkaCacheDir(version);
  return existsSync(join(dir, '.complete')) ? join(dir, 'libs') : undefined;
}

/** Downloads the Kafka jars unless cached; idempotent, and quick when cached. Returns the libs dir. */
export async function fetchKafka(log: (line: string) => void, version = KAFKA_VERSION): Promise<string> {
  const cached = cachedKafkaLibs(version);
  if (cached) return cached;
  requireBinary('java', 'default-jre-headless');
  const mvn = requireBinary('mvn', 'maven');
  const dir = kafkaCacheDir(version);
  const libs = join(dir, 'libs');
  const staging = join(dir, 'libs.partial');
  const mvnLog = join(dir, 'mvn.log');
  mkdirSync(dir, { recursive: true });
  rmSync(staging, { recursive: true, force: true });
  writeFileSync(join(dir, 'pom.xml'), pom(version));
  log(`kafka: fetching org.apache.kafka:kafka_2.13:${version} and its dependencies with mvn into ${libs}`);
  const args = [
    '-B',
    '-q',
    '-f',
    join(dir, 'pom.xml'),
    'dependency:copy-dependencies',
    `-DoutputDirectory=${staging}`,
    '-DincludeScope=runtime',
  ];
  const result = await run(mvn, args, { cwd: dir, timeoutMs: 600_000 });
  writeFileSync(mvnLog, result.stdout + result.stderr);
  const jar = `kafka_2.13-${version}.jar`;
  if (result.code !== 0 || !existsSync(join(staging, jar))) {
    throw new StackError(`mvn could not fetch Kafka ${version} (exit ${result.code})`, mvnLog);
  }
  rmSync(libs, { recursive: true, force: true });
  renameSync(staging, libs);
  writeFileSync(join(dir, '.complete'), `${readdirSync(libs).length} jars\n`);
  return libs;
}
