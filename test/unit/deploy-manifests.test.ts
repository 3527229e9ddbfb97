import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type Config, ENV_VARS, packageRoot, parseConfig } from '../../src/config/index.js';
import { drainBudgetMs, statusOf } from '../helpers/deploy-checks.js';

/**
 * No cluster runs here, so this keeps deploy/kubernetes honest by reading it: every manifest parses, labels
 * and selectors meet, the ConfigMap's config passes the gateway's own validation with the environment the pod
 * gets, probes and scrape annotations name paths the gateway answers on `server.port`, the drain fits the
 * grace period, and the SQLite outbox sits on the pod's own volume.
 */

type Labels = Record<string, string>;
interface Meta {
  name: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}

const root = packageRoot();
const base = join(root, 'deploy', 'kubernetes');
const VARIANTS = ['sqlite-statefulset', 'postgres-deployment'] as const;
/** Environment variables the pod may set that are not the gateway's own. */
const OTHER_ENV = new Set(['NODE_OPTIONS']);

/** Bytes of a Kubernetes quantity (`20Gi`, `512Mi`, `1G`). */
function bytesOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new Error(`not a quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? unit[m[2] as keyof typeof unit] : 1);
}

function load(variant: string): { files: string[]; manifests: Manifest[] } {
  const dir = join(base, variant);
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  const manifests: Manifest[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${variant}/${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as Manifest | null;
      if (value !== null) manifests.push(value);
    }
  }
  return { files, manifests };
}

const contains = (labels: Labels | undefined, selector: Labels | undefined) =>
  Object.keys(selector ?? {}).length > 0 &&
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

describe.each(VARIANTS)('deploy/kubernetes/%s', (variant) => {
  const { files, manifests } = load(variant);
  const one = (kind: string) => {
    const found = manifests.filter((m) => m.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };
  const workload = manifests.find((m) => m.kind === 'StatefulSet' || m.kind === 'Deployment')!;
  const pod = workload?.spec.template;
  const container = pod?.spec.containers.find((c: Container) => c.name === 'mqgate') as Container;
  const secrets = manifests.filter((m) => m.kind === 'Secret');
  const configMaps = manifests.filter((m) => m.kind === 'ConfigMap');

  /** The pod's environment, with secretKeyRef / configMapKeyRef looked up in this variant's manifests. */
  function podEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      const secretRef = e.valueFrom?.secretKeyRef;
      const mapRef = e.valueFrom?.configMapKeyRef;
      if (secretRef) {
        const secret = secrets.find((s) => s.metadata.name === secretRef.name);
        expect(secret, `Secret ${secretRef.name}`).toBeDefined();
        const plain = secret?.stringData?.[secretRef.key];
        const encoded = secret?.data?.[secretRef.key];
        const value =
          plain ?? (encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString());
        expect(value, `${secretRef.name}.${secretRef.key}`).toBeDefined();
        env[e.name] = value!;
      } else if (mapRef) {
        const map = configMaps.find((m) => m.metadata.name === mapRef.name);
        expect(map?.data?.[mapRef.key], `${mapRef.name}.${mapRef.key}`).toBeDefined();
        env[e.name] = map!.data![mapRef.key]!;
      } else {
        expect(e.value, e.name).toBeDefined();
        env[e.name] = e.value!;
      }
    }
    return env;
  }

  /** The config file MQGATE_CONFIG names, read from the ConfigMap volume mounted there. */
  function mountedConfig(env: Record<string, string>): string {
    const file = env.MQGATE_CONFIG;
    expect(file, 'MQGATE_CONFIG').toBeDefined();
    const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(file!));
    expect(mount, `a volume mounted at ${posix.dirname(file!)}`).toBeDefined();
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name === mount!.name);
    const map = configMaps.find((m) => m.metadata.name === volume?.configMap?.name);
    const text = map?.data?.[posix.basename(file!)];
    expect(text, `ConfigMap key ${posix.basename(file!)}`).toBeDefined();
    return text!;
  }

  let config: Config;
  beforeAll(() => {
    const env = podEnv();
    config = parseConfig(parse(mountedConfig(env)), { env, source: `${variant} ConfigMap` });
  });

  it('every manifest parses and is named; the kustomization lists exactly these files', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    for (const m of manifests) {
      expect(m.apiVersion, m.kind).toMatch(/^[a-z.\d/]+$/);
      expect(m.metadata?.name, m.kind).toMatch(/^[a-z0-9-]+$/);
      expect(m.metadata.labels?.['app.kubernetes.io/name'], `${m.kind} ${m.metadata.name}`).toBe('mqgate');
    }
    const kustomization = parse(readFileSync(join(base, variant, 'kustomization.yaml'), 'utf8'));
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
    // The image the manifests name is the one the kustomization rewrites.
    expect(kustomization.images.map((i: { name: string }) => i.name)).toContain(container.image);
  });

  it('selectors match the pod labels (workload, Services, PodDisruptionBudget)', () => {
    const labels: Labels = pod.metadata.labels;
    expect(contains(labels, workload.spec.selector.matchLabels)).toBe(true);
    const services = manifests.filter((m) => m.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) expect(contains(labels, s.spec.selector), s.metadata.name).toBe(true);
    expect(contains(labels, one('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
    if (workload.kind === 'StatefulSet') {
      const governing = services.find((s) => s.metadata.name === workload.spec.serviceName);
      expect(governing?.spec.clusterIP, 'the serviceName Service is headless').toBe('None');
    }
  });

  it('the ConfigMap config passes the gateway validation with the pod env, whose names env.ts reads', () => {
    const env = podEnv();
    for (const name of Object.keys(env)) {
      if (OTHER_ENV.has(name)) continue;
      const known = (ENV_VARS as readonly string[]).includes(name) || name.startsWith('MQGATE__');
      expect(known, `${name} is read by src/config/env.ts`).toBe(true);
    }
    // Every Secret key reaches the pod (a key nobody reads is a secret configured for nothing).
    const used = new Set((container.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.key).filter(Boolean));
    for (const s of secrets) {
      for (const key of Object.keys({ ...s.data, ...s.stringData })) expect(used, key).toContain(key);
    }
    expect(config.auth.mode).toBe('apiKey');
    // Without the Secret the same file is refused: the keys (and the postgres URL's password) live only there.
    expect(() =>
      parseConfig(parse(mountedConfig(env)), { env: { MQGATE_CONFIG: env.MQGATE_CONFIG } }),
    ).toThrow(/auth/);
  });

  it('probes, Service and scrape annotations name paths the gateway answers on server.port', async () => {
    const named = container.ports?.find((p) => p.name === 'http');
    expect(named?.containerPort).toBe(config.server.port);
    const portOf = (port: string | number | undefined) =>
      typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(['/healthz', '/livez']).toContain(container.livenessProbe?.httpGet?.path);
    const probes = [container.readinessProbe, container.livenessProbe, container.startupProbe];
    for (const probe of probes) expect(portOf(probe?.httpGet?.port)).toBe(config.server.port);
    for (const s of manifests.filter((m) => m.kind === 'Service')) {
      for (const p of s.spec.ports) expect(portOf(p.targetPort), s.metadata.name).toBe(config.server.port);
    }
    const annotations = pod.metadata.annotations ?? {};
    expect(Number(annotations['prometheus.io/port'])).toBe(config.server.port);
    const paths = [...probes.map((p) => p!.httpGet!.path), annotations['prometheus.io/path'] as string];
    const status = await statusOf(paths);
    for (const path of paths) expect(status[path], path).toBe(200);
  });

  it('the preStop sleep and the SIGTERM drain fit in terminationGracePeriodSeconds', () => {
    const preStop = container.lifecycle?.preStop;
    const command = preStop?.exec?.command;
    const sleepSeconds = preStop?.sleep?.seconds ?? (command?.[0] === 'sleep' ? Number(command[1]) : NaN);
    expect(sleepSeconds).toBeGreaterThan(0);
    const needed = sleepSeconds + drainBudgetMs(config.server.shutdownDelayMs) / 1000;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needed);
  });

  it('sets requests and limits, with the V8 heap under the memory limit', () => {
    for (const kind of ['requests', 'limits'] as const) {
      expect(container.resources?.[kind]?.cpu, kind).toBeDefined();
      expect(container.resources?.[kind]?.memory, kind).toBeDefined();
    }
    const heap = /--max-old-space-size=(\d+)/.exec(podEnv().NODE_OPTIONS ?? '');
    if (heap) {
      expect(Number(heap[1]) * 2 ** 20).toBeLessThan(bytesOf(container.resources!.limits!.memory!));
    }
  });

  if (variant === 'sqlite-statefulset') {
    it('keeps the SQLite outbox on a volume per pod that outlives the pod, sized for the budget', () => {
      expect(workload.kind).toBe('StatefulSet');
      const outbox = config.outbox;
      if (outbox.driver !== 'sqlite') throw new Error(`outbox.driver is ${outbox.driver}, not sqlite`);
      const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(outbox.path));
      expect(mount, `a volume at ${dirname(outbox.path)}`).toBeDefined();
      const claim = workload.spec.volumeClaimTemplates.find(
        (t: { metadata: Meta }) => t.metadata.name === mount!.name,
      );
      expect(claim, 'the outbox volume is a volumeClaimTemplate').toBeDefined();
      expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
      // docs/deploy.md: 2.5 x maxBytes covers the per-row overhead of pending messages down to ~200 bytes.
      expect(bytesOf(claim.spec.resources.requests.storage)).toBeGreaterThanOrEqual(2.5 * outbox.maxBytes);
      expect(workload.spec.persistentVolumeClaimRetentionPolicy).toEqual({
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
      });
      expect(manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    });
  } else {
    it('shares the Postgres outbox from the Secret, keeps nothing on the pod, and scales with an HPA', () => {
      expect(workload.kind).toBe('Deployment');
      const outbox = config.outbox;
      if (outbox.driver !== 'postgres') throw new Error(`outbox.driver is ${outbox.driver}, not postgres`);
      const password = new URL(outbox.url).password;
      expect(password, 'the password comes from the Secret').not.toBe('');
      expect(mountedConfig(podEnv())).not.toContain(password);
      expect(workload.spec.volumeClaimTemplates).toBeUndefined();
      const hpa = one('HorizontalPodAutoscaler');
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: workload.metadata.name });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(container.resources?.requests?.cpu, 'CPU utilization needs a request').toBeDefined();
    });
  }

  it('writes only to mounted volumes when the root filesystem is read-only', () => {
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
    expect(mounts).toContain('/tmp');
    if (config.outbox.driver === 'sqlite') expect(mounts).toContain(dirname(config.outbox.path));
  });
});
