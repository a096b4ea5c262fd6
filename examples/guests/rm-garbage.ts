// Hostile: writes garbage to the RM. Random bytes of every length, then messages that are almost
// right (wrong API byte, continuations with nothing pending, replies and notifications from a VM,
// fragment counts past the limit, unknown message IDs, truncated payloads), all on its RM queue;
// then it checks the RM still answers it by writing "survived" to its console, and powers off.
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { bootInfo, enableInterrupts, scratchPage, systemOff } from './lib/baremetal';
import { RmLite } from './lib/rm-lite';

/** A deterministic byte stream (xorshift32). */
function* noise(seed: number): Generator<number> {
  let x = seed >>> 0 || 1;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x & 0xff;
  }
}

function header(api: number, type: number, fragments: number, seq: number, msgId: number, payload = 0): Uint8Array {
  const b = new Uint8Array(8 + payload);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, api);
  dv.setUint8(1, (type & 3) | ((fragments & 0x3f) << 2));
  dv.setUint16(2, seq, true);
  dv.setUint32(4, msgId, true);
  return b;
}

export async function main(cpu: GuestCpu, image: GuestImage): Promise<void> {
  const info = bootInfo(cpu, cpu.x[0]!);
  if (!info.rm) throw new Error('no RM link');
  const rm = new RmLite(cpu, info.rm, scratchPage(image));
  await enableInterrupts(cpu, info.gic, [{ intid: info.rm.rxIntid, edge: true }], () => rm.onRxIrq());
  const rnd = noise(info.vmid * 7919);
  const send = async (b: Uint8Array) => {
    // A full queue is the RM being slow, not an error: give it time.
    while ((await rm.sendRaw(b)) === 61) await cpu.spin(20_000);
  };
  for (let n = 1; n <= 240; n += 7) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = rnd.next().value!;
    await send(b);
  }
  const bad = [
    header(0x31, 1, 0, 1, 0x5600_0024), // wrong API version
    header(0x21, 0, 3, 2, 0x5600_0024, 4), // a continuation with nothing pending
    header(0x21, 2, 0, 3, 0x5600_0024, 4), // a "reply" from a VM
    header(0x21, 3, 0, 4, 0x5610_0001, 8), // a "notification" from a VM
    header(0x21, 1, 63, 5, 0x5600_0024), // 63 continuation fragments announced
    header(0x21, 1, 2, 6, 0x5600_0083, 200), // a request whose continuations never come
    header(0x21, 1, 0, 7, 0x5600_0fff, 16), // an unknown message ID
    header(0x21, 1, 0, 8, 0x5600_0001, 1), // VM_ALLOCATE from a VM, truncated
    header(0x21, 1, 0, 9, 0x5600_0083, 2), // CONSOLE_WRITE shorter than its header
  ];
  for (const b of bad) await send(b);
  // Replies to some of those may be queued: RmLite skips what it did not ask for.
  if ((await rm.consoleOpen()) !== 0) throw new Error('the RM stopped answering');
  await rm.consoleWrite(`vm ${info.vmid} survived its garbage\n`);
  await systemOff(cpu);
}
