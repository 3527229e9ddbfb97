/** A location in the config: object keys and array indexes from the root. */
export type ConfigPath = readonly (string | number)[];

/** One thing wrong with the config, at a path of the file's shape. */
export interface Problem {
  readonly path: ConfigPath;
  readonly message: string;
}

/** `['routes', 0, 'backends', 1]` as `routes[0].backends[1]`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

/** Turns an ajv instance path (JSON pointer) into segments, numbering the ones that index arrays in `data`. */
export function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  if (pointer === '') return path;
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(key));
      node = node[Number(key)];
    } else {
      path.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

/** The value at `path` in `data`, or `undefined`. */
export function valueAt(data: unknown, path: ConfigPath): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
