// `gunyah dt decompile <in.dtb> [-s]`: the DTS text `dtc -I dtb -O dts` prints.
import { Command, Option } from 'commander';
import { parseFdt, toDts } from '../../../dt';
import { readBlobFile, withBlob, writeFile } from './blob-file';

export function registerDecompile(dt: Command): void {
  dt.command('decompile')
    .description('print a blob as DTS, as `dtc -I dtb -O dts` does')
    .argument('<in.dtb>', 'the blob')
    .option('-s, --sort', 'sort reservations, nodes and properties (dtc -s)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addOption(new Option('--dialect <version>', "which dtc's output to reproduce").choices(['1.6', '1.7']).default('1.6'))
    .action((file: string, opts: { sort?: boolean; output?: string; dialect: '1.6' | '1.7' }) => {
      const bytes = readBlobFile(file);
      const text = withBlob(file, () => toDts(parseFdt(bytes), { sort: opts.sort ?? false, dialect: opts.dialect }));
      if (opts.output) writeFile(opts.output, text);
      else process.stdout.write(text);
    });
}
