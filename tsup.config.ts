// Build: each layer's public face as a library entry, plus the CLI, with .d.ts.
import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

const layers = ['dt', 'bindings', 'firmware', 'core', 'drivers'].filter((d) => existsSync(`${d}/index.ts`));
const entry: Record<string, string> = { 'tools/gunyah': 'tools/gunyah.ts' };
for (const d of layers) entry[`${d}/index`] = `${d}/index.ts`;

export default defineConfig({
  entry,
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  outDir: 'dist',
});
