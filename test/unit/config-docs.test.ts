import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, packageRoot } from '../../src/config/index.js';
import { ConfigFileSchema } from '../../src/config/schema.js';

type Node = Record<string, unknown>;

/** Every key path of the file schema, `<name>` for backend names and `[i]` for route indexes. */
function keyPaths(node: Node, prefix: string): string[] {
  if (node.oneOf) return [...new Set((node.oneOf as Node[]).flatMap((branch) => keyPaths(branch, prefix)))];
  if (node.type === 'array' && (node.items as Node).properties)
    return keyPaths(node.items as Node, `${prefix}[i]`);
  if (node.properties) {
    return Object.entries(node.properties as Record<string, Node>).flatMap(([key, child]) =>
      keyPaths(child, prefix === '' ? key : `${prefix}.${key}`),
    );
  }
  if (node.type === 'object' && node.additionalProperties)
    return keyPaths(node.additionalProperties as Node, `${prefix}.<name>`);
  return [prefix];
}

describe('docs/config.md', () => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'config.md'), 'utf8');

  it.each(keyPaths(ConfigFileSchema as unknown as Node, ''))('documents `%s`', (path) => {
    expect(doc).toContain(`\`${path}\``);
  });

  it.each([...ENV_VARS])('documents %s', (name) => {
    expect(doc).toContain(`\`${name}\``);
  });
});
