// `gunyah dt overlay <base.dtb> <overlay.dtbo>... -o <out.dtb>`: apply overlays as fdtoverlay does.
import type { Command } from 'commander';
import { DtbError, applyOverlayFdt } from '../../../dt';
import { CliError } from '../errors';
import { readBlobFile, writeFile } from './blob-file';

export function registerOverlay(dt: Command): void {
  dt.command('overlay')
    .description('apply overlays to a base blob, in order, as fdtoverlay does')
    .argument('<base.dtb>', 'the base blob')
    .argument('<overlay.dtbo...>', 'overlays, applied in order')
    .requiredOption('-o, --output <out.dtb>', 'the merged blob')
    .action((base: string, overlays: string[], opts: { output: string }) => {
      const baseBytes = readBlobFile(base);
      const ovBytes = overlays.map(readBlobFile);
      let out: Uint8Array;
      try {
        out = applyOverlayFdt(baseBytes, ovBytes, { names: overlays, baseName: base });
      } catch (err) {
        // the message already names the file at fault
        if (err instanceof DtbError) throw new CliError(err.message);
        throw err;
      }
      writeFile(opts.output, out);
    });
}
