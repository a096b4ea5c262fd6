// A stub VM (placement C): a bare-metal program whose only job is one device emulator of another VM.
// It reads its link from the block the launcher left at RAM top - STUB_INFO_BELOW, then serves the
// hypervisor's requests (register reads and writes, host input) from its request queue, answers on
// its reply queue, sends what the device outputs as OUTPUT messages, raises the guest's interrupt
// with its doorbell and runs device timers on its own virtual timer. The guest's RAM is mapped into
// this VM (granted, shared) at the window the block names. It sleeps in WFI when there is nothing to
// do; the scheduler runs it like any vCPU.
import { decodeStubInfo, decodeStubMessage, encodeStubMessage, GuestAbort, hypercall, Hvc, STUB_INFO_BELOW, STUB_INFO_SIZE, STUB_MAX_PAYLOAD, STUB_MSG_SIZE, StubDeviceKind, StubOp, VTIMER_PPI, type GuestCpu, type GuestImage } from '../../firmware/hypervisor';
import { accessInWindow, allOnes, GrantedMemory, MAX_DEVICE_TIMERS, pl011Factory, virtioConsoleFactory, type AccessSize, type DeviceEmulator, type DeviceEnv } from '../../tools/devices/emulators';
import { bootInfo, enableInterrupts } from './lib/baremetal';

const PUSH = 1;
const MSGQUEUE_EMPTY = 60;

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  const boot = bootInfo(cpu, cpu.x[0]!);
  const infoAt = boot.memory.base + boot.memory.size - STUB_INFO_BELOW;
  const raw = new Uint8Array(STUB_INFO_SIZE);
  cpu.read(infoAt, raw);
  const info = decodeStubInfo(raw);
  if (!info) throw new Error('device-stub: no link block from the launcher');
  const rxBuf = infoAt + 0x1000n;
  const txBuf = infoAt + 0x2000n;

  const dev: DeviceEmulator = info.deviceKind === StubDeviceKind.PL011 ? pl011Factory() : virtioConsoleFactory()();
  const deadlines: (number | undefined)[] = new Array<number | undefined>(MAX_DEVICE_TIMERS).fill(undefined);
  const out: Uint8Array[] = [];
  let level = false;
  let signalled = false;
  let debt = 0;
  const nsPerTick = 1e9 / cpu.counterFrequency;
  const now = () => Number(cpu.counter()) * nsPerTick;
  const ok = (f: () => void) => {
    try {
      f();
      return true;
    } catch (e) {
      if (e instanceof GuestAbort) return false;
      throw e;
    }
  };
  const env: DeviceEnv = {
    mem: new GrantedMemory([{ gpa: info.guestRamGpa, size: info.guestRamSize, writable: true, backing: info.guestRamWindow }], {
      read: (addr, into) => ok(() => cpu.read(BigInt(addr), into)),
      write: (addr, from) => ok(() => cpu.write(BigInt(addr), from)),
    }),
    setIrq: (l) => {
      level = l;
    },
    now,
    armTimer: (id, deadline) => {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_DEVICE_TIMERS) throw new RangeError(`timer id ${id}`);
      deadlines[id] = deadline;
    },
    cancelTimer: (id) => {
      if (Number.isInteger(id) && id >= 0 && id < MAX_DEVICE_TIMERS) deadlines[id] = undefined;
    },
    charge: (ns) => {
      if (ns > 0) debt += ns;
    },
    log: () => undefined,
    chardev: { write: (b) => out.push(b.slice()) },
  };
  dev.init(env);

  let wake = false;
  await enableInterrupts(
    cpu,
    boot.gic,
    [
      { intid: info.requestIntid, edge: true },
      { intid: VTIMER_PPI, edge: false },
    ],
    (intid) => {
      if (intid === VTIMER_PPI) cpu.setTimer(undefined);
      wake = true;
    },
  );

  const send = async (bytes: Uint8Array) => {
    cpu.write(txBuf, bytes);
    // A full reply queue drains as soon as the hypervisor sees it: wait a little and retry.
    while ((await hypercall(cpu, Hvc.MSGQUEUE_SEND, info.replyCap, bytes.length, txBuf, PUSH)).error !== 0) await cpu.spin(1000);
  };

  // The device's interrupt line to the doorbell: send raises it, receive (clearing the flag) lowers it.
  const irq = async () => {
    if (level === signalled) return;
    signalled = level;
    await hypercall(cpu, level ? Hvc.DOORBELL_SEND : Hvc.DOORBELL_RECEIVE, info.doorbellCap, 1);
  };

  const serve = (m: NonNullable<ReturnType<typeof decodeStubMessage>>): bigint => {
    const size = m.size as AccessSize;
    switch (m.op) {
      case StubOp.READ:
        return accessInWindow(m.offset, size, dev.windowSize) ? dev.read(m.offset, size) : allOnes(size);
      case StubOp.WRITE:
        if (accessInWindow(m.offset, size, dev.windowSize)) dev.write(m.offset, size, m.value);
        return 0n;
      case StubOp.INPUT:
        return BigInt(dev.input?.(m.payload.subarray(0, m.offset)) ?? 0);
      default:
        return allOnes(8);
    }
  };

  for (;;) {
    let did = false;
    for (;;) {
      const r = await hypercall(cpu, Hvc.MSGQUEUE_RECEIVE, info.requestCap, rxBuf, STUB_MSG_SIZE);
      if (r.error === MSGQUEUE_EMPTY) break;
      if (r.error !== 0) throw new Error(`device-stub: msgqueue_receive: ${r.error}`);
      did = true;
      const bytes = new Uint8Array(Number(r.x[1]));
      cpu.read(rxBuf, bytes);
      const m = decodeStubMessage(bytes);
      if (!m) continue;
      const value = serve(m);
      // Output and the interrupt go before the answer: the guest resumes to a consistent device.
      for (const b of out.splice(0)) for (let o = 0; o < b.length; o += STUB_MAX_PAYLOAD) await send(encodeStubMessage({ op: StubOp.OUTPUT, seq: 0, offset: 0, size: 0, value: 0n, payload: b.subarray(o, o + STUB_MAX_PAYLOAD) }));
      await irq();
      await send(encodeStubMessage({ op: m.op, seq: m.seq, offset: m.offset, size: m.size, value }));
      if (debt > 0) {
        const d = debt;
        debt = 0;
        await cpu.spin(d);
      }
    }
    const t = now();
    let next: number | undefined;
    for (let id = 0; id < MAX_DEVICE_TIMERS; id++) {
      const d = deadlines[id];
      if (d === undefined) continue;
      if (d <= t) {
        deadlines[id] = undefined;
        dev.timer(id);
        did = true;
      } else next = next === undefined ? d : Math.min(next, d);
    }
    for (const b of out.splice(0)) for (let o = 0; o < b.length; o += STUB_MAX_PAYLOAD) await send(encodeStubMessage({ op: StubOp.OUTPUT, seq: 0, offset: 0, size: 0, value: 0n, payload: b.subarray(o, o + STUB_MAX_PAYLOAD) }));
    await irq();
    if (did) continue;
    if (next !== undefined) cpu.setTimer(BigInt(Math.ceil(next / nsPerTick)));
    wake = false;
    while (!wake) await cpu.wfi();
  }
}
