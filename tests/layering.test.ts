// DESIGN.md's layering, enforced: arrows point down only, and a folder is entered through its index.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What each top-level folder may import (besides itself). */
const allowed: Record<string, string[]> = {
  dt: [],
  bindings: ['dt'],
  firmware: ['dt'],
  core: ['dt', 'bindings'],
  drivers: ['dt', 'bindings', 'core'],
  tools: ['dt', 'bindings', 'firmware', 'core', 'drivers', 'examples'],
  examples: ['dt', 'bindings', 'firmware', 'core', 'drivers', 'tools'],
  bench: ['dt', 'bindings', 'firmware', 'core', 'drivers', 'tools', 'examples'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'results') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith('.ts')) yield p;
  }
}

/** The unit a file belongs to: firmware/x and drivers/x are units of their own, else the top folder. */
function unitOf(rel: string): string {
  const parts = rel.split(sep);
  const top = parts[0]!;
  if ((top === 'firmware' || top === 'drivers') && parts.length > 2) return `${top}/${parts[1]}`;
  return top;
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function resolveImport(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), spec);
  for (const cand of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(cand) && statSync(cand).isFile()) return cand;
  }
  return `${base}.ts`;
}

test('imports point down the layers and enter other units through index.ts', () => {
  const problems: string[] = [];
  for (const top of Object.keys(allowed)) {
    const dir = join(root, top);
    if (!existsSync(dir)) continue;
    for (const file of tsFiles(dir)) {
      const src = readFileSync(file, 'utf8');
      const relFrom = relative(root, file);
      for (const m of src.matchAll(importRe)) {
        const spec = m[1] ?? m[2]!;
        const target = resolveImport(file, spec);
        if (!target) continue;
        const relTo = relative(root, target);
        const toTop = relTo.split(sep)[0]!;
        if (toTop === '..' || toTop === 'node_modules') {
          problems.push(`${relFrom}: imports outside the project (${spec})`);
          continue;
        }
        if (toTop !== top && !allowed[top]!.includes(toTop)) {
          problems.push(`${relFrom}: ${top}/ must not import ${toTop}/ (${spec})`);
          continue;
        }
        if (unitOf(relFrom) !== unitOf(relTo) && !relTo.endsWith(`${sep}index.ts`)) {
          problems.push(`${relFrom}: reaches into ${relTo}; import ${dirname(relTo)}'s index.ts instead`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});
