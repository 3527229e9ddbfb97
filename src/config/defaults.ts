import { ConfigFileSchema } from './schema.js';

type Node = Record<string, unknown>;

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The branch of a discriminated union that `data`'s tag selects, if any. */
function branchOf(node: Node, data: Record<string, unknown>): Node | undefined {
  const tag = (node.discriminator as { propertyName: string }).propertyName;
  return (node.oneOf as Node[]).find(
    (branch) => ((branch.properties as Node)[tag] as Node).const === data[tag],
  );
}

function fill(node: Node, data: unknown): unknown {
  if (Array.isArray(data)) return node.items ? data.map((item) => fill(node.items as Node, item)) : data;
  if (!isMapping(data)) return data;
  if (node.discriminator) {
    const branch = branchOf(node, data);
    return branch ? fill(branch, data) : data;
  }
  const out: Record<string, unknown> = {};
  const properties = (node.properties ?? {}) as Record<string, Node>;
  for (const [key, child] of Object.entries(properties)) {
    const value = data[key] === undefined ? structuredClone(child.default) : data[key];
    if (value !== undefined) out[key] = fill(child, value);
  }
  for (const [key, value] of Object.entries(data)) {
    if (key in properties) continue;
    // A map of user-named entries (backends) takes each value through its schema; unknown keys stay for
    // validation to report.
    out[key] = isMapping(node.additionalProperties) ? fill(node.additionalProperties, value) : value;
  }
  return out;
}

/**
 * A copy of the raw config with every absent key that has a default filled in from the schema, recursively;
 * union branches are picked by their tag. Invalid shapes are left as they are for validation to report.
 */
export function applyDefaults(raw: unknown): unknown {
  return fill(ConfigFileSchema as unknown as Node, raw);
}
