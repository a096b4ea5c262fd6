// The on-disk image cache is shared by every checkout on a machine (worktrees, CI clones): a build
// of one checkout's guest must never be handed to another checkout whose guest of the same name
// differs, and an edit to any input rebuilds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrBuild } from '../../../tools/image/builtin-images';

const guest = (word: string) => `export async function main(): Promise<void> { throw new Error(${JSON.stringify(word)}); }\n`;
const textOf = (img: Uint8Array) => new TextDecoder().decode(img);

test('image cache: same guest name in two checkouts gives each its own build; an edit rebuilds', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gunyah-cache-'));
  const saved = process.env['GUNYAH_IMAGE_CACHE'];
  process.env['GUNYAH_IMAGE_CACHE'] = join(root, 'cache');
  try {
    const a = join(root, 'a', 'examples', 'guests');
    const b = join(root, 'b', 'examples', 'guests');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    writeFileSync(join(a, 'g.ts'), guest('from checkout A'));
    writeFileSync(join(b, 'g.ts'), guest('from checkout B'));
    const imgA = await loadOrBuild('g', join(a, 'g.ts'));
    const imgB = await loadOrBuild('g', join(b, 'g.ts'));
    assert.match(textOf(imgA), /from checkout A/);
    assert.match(textOf(imgB), /from checkout B/);
    assert.doesNotMatch(textOf(imgB), /from checkout A/);
    // From the cache, still each its own.
    assert.deepEqual(await loadOrBuild('g', join(a, 'g.ts')), imgA);
    writeFileSync(join(a, 'g.ts'), guest('checkout A, edited'));
    assert.match(textOf(await loadOrBuild('g', join(a, 'g.ts'))), /checkout A, edited/);
    assert.deepEqual(await loadOrBuild('g', join(b, 'g.ts')), imgB);
  } finally {
    if (saved === undefined) delete process.env['GUNYAH_IMAGE_CACHE'];
    else process.env['GUNYAH_IMAGE_CACHE'] = saved;
    rmSync(root, { recursive: true, force: true });
  }
});
