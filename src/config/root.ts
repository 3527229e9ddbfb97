import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The directory of mqgate's own package.json, found by walking up from this module, so it is the same from
 * src/config (tsx) and from dist/src/config (compiled), and for an installed package.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'mqgate') {
        cached = dir;
        return dir;
      }
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('mqgate package root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The embedded default config: `config/default.yaml` in the package root. */
export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.yaml');
}
