import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, toArray } from 'rxjs';
import { builtinImage } from '../../../tools/image/builtin-images';
import { Vmm } from '../../../tools/vmm/vmm';
import type { VmDescription } from '../../../tools/vmm/vm-description';
import { withPrimary } from './helpers/primary';

const desc = (o: Partial<VmDescription> = {}): VmDescription => ({ name: 'alpha', image: 'builtin:hello', memorySize: 0x200_0000n, memoryBase: 0x8000_0000n, vcpus: 1, console: 'rm', bootargs: undefined, priority: -1, timesliceUs: undefined, devices: [], ...o });

test('vmm: hello guest kernel', async () => {
  const image = await builtinImage('hello');
  const { result, platform } = await withPrimary(async ({ k }) => {
    const proc = k.spawn('vmm');
    const vmm = await Vmm.create(proc, desc({ vcpus: 4 }), image);
    const out = firstValueFrom(vmm.console$.pipe(toArray()));
    await vmm.start();
    const exit = await vmm.exited;
    await vmm.close();
    const text = new TextDecoder().decode(Buffer.concat((await out).map((b) => Buffer.from(b))));
    return { exit, text, vmid: vmm.vmid };
  });
  console.log(result.text);
  for (const o of platform.hv.objects) { const v = o as any; if (v.faultReason) console.log('fault', v.vmid, v.faultReason); }
  assert.match(result.text, new RegExp(`hello from vm ${result.vmid}`));
});
