// A device emulator packaged as a native app (placement A): the `app` entry point the hypervisor
// calls with function codes, translating them to the DeviceEmulator interface and the app's host
// services into a DeviceEnv. An app program is just `export const app = nativeAppEntry(factory)`.
import { NativeAppFn, type AppEntry, type AppHost } from '../../../firmware/hypervisor/index';
import { accessInWindow, allOnes, type AccessSize, type DeviceEmulator, type DeviceEnv, type DeviceFactory } from '../device';
import { GrantedMemory } from '../guest-memory';

/** The whole guest-physical space as one grant: the hypervisor checks the app's real grants. */
const EVERYTHING = [{ gpa: 0n, size: BigInt(Number.MAX_SAFE_INTEGER), writable: true }];

export function nativeAppEntry(factory: DeviceFactory): AppEntry {
  let dev: DeviceEmulator | undefined;
  let host: AppHost | undefined;
  const h = (): AppHost => host!;
  const env: DeviceEnv = {
    mem: new GrantedMemory(EVERYTHING, {
      read: (addr, into) => h().memRead(BigInt(addr), into),
      write: (addr, from) => h().memWrite(BigInt(addr), from),
    }),
    setIrq: (level) => h().setIrq(level),
    now: () => h().now(),
    armTimer: (id, deadline) => h().armTimer(id, deadline),
    cancelTimer: (id) => h().cancelTimer(id),
    charge: (ns) => h().charge(ns),
    log: (level, message) => h().log(level, message),
    chardev: { write: (bytes) => h().chardevWrite(bytes) },
  };
  return (call) => {
    host = call.host;
    const a = call.args;
    switch (call.fn) {
      case NativeAppFn.INIT:
        dev = factory();
        dev.init(env);
        call.ret(0n);
        return;
      case NativeAppFn.MMIO_READ: {
        const off = Number(a[0]);
        const size = Number(a[1]) as AccessSize;
        call.ret(dev && accessInWindow(off, size, dev.windowSize) ? dev.read(off, size) : allOnes(size));
        return;
      }
      case NativeAppFn.MMIO_WRITE: {
        const off = Number(a[0]);
        const size = Number(a[1]) as AccessSize;
        if (dev && accessInWindow(off, size, dev.windowSize)) dev.write(off, size, a[2]!);
        call.ret(0n);
        return;
      }
      case NativeAppFn.TIMER:
        dev?.timer(Number(a[0]));
        call.ret(0n);
        return;
      case NativeAppFn.INPUT:
        call.ret(BigInt(dev?.input && call.data ? dev.input(call.data) : 0));
        return;
      default:
        call.ret(allOnes(8));
    }
  };
}
