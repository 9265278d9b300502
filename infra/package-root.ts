import fs from 'node:fs';
import path from 'node:path';

/**
 * The folder holding Argus's package.json, found by walking up from `from`: the same answer whether this
 * code runs from its TypeScript source (infra/) or compiled (dist/infra/), where a fixed `../..` would not be.
 */
export function findPackageRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (manifest.name === 'argus') return dir;
    } catch {
      // no package.json here (or not one we can read): keep walking
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of argus above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot();
