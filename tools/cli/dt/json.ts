// `gunyah dt json <in.dtb>`: header, reservation map and every node with raw property bytes, as JSON.
import type { Command } from 'commander';
import { fdtToJson } from '../../../dt';
import { readBlobFile, withBlob } from './blob-file';

export function registerJson(dt: Command): void {
  dt.command('json')
    .description('print a blob as one JSON object: header, mem_rsvmap, nodes with raw property values in hex')
    .argument('<in.dtb>', 'the blob')
    .action((file: string) => {
      const bytes = readBlobFile(file);
      const json = withBlob(file, () => fdtToJson(bytes));
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    });
}
