// `gunyah dt overlay <base.dtb> <overlay.dtbo>... -o <out.dtb>`: apply overlays as fdtoverlay does.
import { Option, type Command } from 'commander';
import { DtbError, applyOverlayFdt } from '../../../dt';
import { CliError } from '../errors';
import { readBlobFile, writeFile } from './blob-file';

export function registerOverlay(dt: Command): void {
  dt.command('overlay')
    .description('apply overlays to a base blob, in order, as fdtoverlay does')
    .argument('<base.dtb>', 'the base blob')
    .argument('<overlay.dtbo...>', 'overlays, applied in order')
    .requiredOption('-o, --output <out.dtb>', 'the merged blob')
    .addOption(
      new Option('--libfdt <version>', "behave as this libfdt's fdtoverlay (1.7: merged nodes keep the base's phandles)")
        .choices(['1.6', '1.7'])
        .default('1.6'),
    )
    .action((base: string, overlays: string[], opts: { output: string; libfdt: '1.6' | '1.7' }) => {
      const baseBytes = readBlobFile(base);
      const ovBytes = overlays.map(readBlobFile);
      let out: Uint8Array;
      try {
        out = applyOverlayFdt(baseBytes, ovBytes, { names: overlays, baseName: base, libfdt: opts.libfdt });
      } catch (err) {
        // the message already names the file at fault
        if (err instanceof DtbError) throw new CliError(err.message);
        throw err;
      }
      writeFile(opts.output, out);
    });
}
