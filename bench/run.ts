// `npm run bench -- <name>...`: runs bench/<name>.bench.ts (all of them when no name is given).
// Each benchmark module's default export runs it, prints a table and returns rows that are
// written to bench/results/<name>.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : available;
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(', ')}; available: ${available.join(', ') || '(none)'}\n`);
  process.exit(1);
}

mkdirSync(join(here, 'results'), { recursive: true });
for (const name of names) {
  process.stdout.write(`\n== bench ${name} ==\n`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as {
    default: () => Promise<unknown>;
  };
  const result = await mod.default();
  const out = join(here, 'results', `${name}.json`);
  writeFileSync(out, `${JSON.stringify({ name, date: new Date().toISOString(), node: process.version, result }, null, 2)}\n`);
  process.stdout.write(`results written to ${out}\n`);
}
