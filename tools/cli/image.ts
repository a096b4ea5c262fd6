// `gunyah image build <entry.ts> -o guest.img` and `gunyah image info <guest.img>`: guest images
// (firmware/hypervisor/image/README.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ImageError, parseImage } from '../../firmware/hypervisor/index';
import { buildImage, ImageBuildError } from '../image/build-image';
import { builtinImage, builtinImageNames, BUILTIN_PREFIX } from '../image/builtin-images';
import { CliError } from './errors';

function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new CliError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`);
  }
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('guest and native-app images: build a program into an image, inspect one');
  image
    .command('build')
    .description('bundle a program into an image: a guest (exports main and other entry functions) or a native app (exports app, no main)')
    .argument('<entry.ts>', 'the program, or builtin:<name> for a bundled example guest or app')
    .requiredOption('-o, --output <file>', 'the image to write')
    .option('--minify', 'minify the program text')
    .action(async (entry: string, opts: { output: string; minify?: boolean }) => {
      let bytes: Uint8Array;
      let summary: string;
      try {
        if (entry.startsWith(BUILTIN_PREFIX)) {
          bytes = await builtinImage(entry.slice(BUILTIN_PREFIX.length));
          summary = entry;
        } else {
          const built = await buildImage(entry, opts.minify ? { minify: true } : {});
          for (const w of built.warnings) process.stderr.write(`warning: ${w}\n`);
          bytes = built.image;
          summary = `${built.kind}, entries ${built.entries.join(', ')}`;
        }
      } catch (e) {
        if (e instanceof ImageBuildError) throw new CliError(e.message.split('\n')[0]!);
        throw e;
      }
      writeFileSync(opts.output, bytes);
      process.stdout.write(`${opts.output}: ${bytes.length} bytes, ${summary}\n`);
    });
  image
    .command('info')
    .description('check an image (header, entry table, CRC) and print its layout')
    .argument('<guest.img>', 'the image')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const bytes = readFile(file);
      let p;
      try {
        p = parseImage(bytes);
      } catch (e) {
        if (e instanceof ImageError) throw new CliError(`${file}: ${e.message}`);
        throw e;
      }
      const info = {
        kind: p.header.kind,
        imageSize: p.header.imageSize,
        textOffset: p.header.textOffset,
        textSize: p.header.textSize,
        textCrc32: `0x${p.header.textCrc32.toString(16).padStart(8, '0')}`,
        entries: p.entries.map((e) => ({ name: e.name, offset: `0x${e.offset.toString(16)}` })),
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else {
        process.stdout.write(`${info.kind} image_size ${info.imageSize}, text ${info.textSize} bytes at 0x${info.textOffset.toString(16)}, crc32 ${info.textCrc32}\n`);
        for (const e of info.entries) process.stdout.write(`  ${e.offset.padStart(6)}  ${e.name}\n`);
      }
    });
  image
    .command('list')
    .description('list the bundled example guests and native apps (usable as builtin:<name>)')
    .action(() => {
      for (const n of builtinImageNames()) process.stdout.write(`${BUILTIN_PREFIX}${n}\n`);
    });
}
