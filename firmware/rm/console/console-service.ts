// The RM console (spec §22; RM's vm_console_simple.c): one console per VM whose RM-RPC link is its
// console device (always the primary VM's). Each side opens it; bytes written by one side go to the
// other as VM_CONSOLE_CHARS when that side is open, and are dropped (with an OK reply) when not.
import { RmMsg, RmNotif } from '../abi/message-ids';
import { consoleCharsPayload } from '../abi/notifications';
import { RPC_MAX_CONTENT } from '../abi/rpc-header';
import { RmErr, RmError } from '../abi/rm-error';
import type { ResourceManager } from '../resource-manager';
import type { RmRequest } from '../server/rpc-server';

/**
 * Bytes per VM_CONSOLE_CHARS notification: a write is delivered in chunks that each fit one RPC
 * packet (232 payload bytes less the 4-byte from/num_bytes header), so a console stream never
 * needs reassembly at the receiver.
 */
export const CONSOLE_CHUNK = RPC_MAX_CONTENT - 4;

interface Console {
  self: number;
  owner: number;
  selfOpened: boolean;
  ownerOpened: boolean;
}

export class ConsoleService {
  private readonly consoles = new Map<number, Console>();

  constructor(private readonly rm: ResourceManager) {}

  create(vmid: number, owner: number): void {
    this.consoles.set(vmid, { self: vmid, owner, selfOpened: false, ownerOpened: false });
  }

  destroy(vmid: number): void {
    this.consoles.delete(vmid);
  }

  has(vmid: number): boolean {
    return this.consoles.has(vmid);
  }

  /** The console a request is about: target 0 is the requester's own. */
  private lookup(req: RmRequest, target: number): Console {
    const c = this.consoles.get(target === 0 ? req.client : target);
    if (!c) throw new RmError(RmErr.ARGUMENT_INVALID, `VM ${target || req.client} has no console`);
    return c;
  }

  register(): void {
    const rpc = this.rm.rpc;
    const targetOnly = (req: RmRequest): number => {
      if (req.body.remaining !== 4) throw new RmError(RmErr.MSG_INVALID, 'payload must be 4 bytes');
      return req.body.u16('target');
    };
    const setOpen = (req: RmRequest, open: boolean) => {
      const target = targetOnly(req);
      const c = this.lookup(req, target);
      if (target === 0) c.selfOpened = open;
      else if (req.client === c.owner) c.ownerOpened = open;
      else throw new RmError(RmErr.DENIED, 'only the VM and its owner use its console');
    };
    rpc.handle(RmMsg.VM_CONSOLE_OPEN, (req) => setOpen(req, true));
    rpc.handle(RmMsg.VM_CONSOLE_CLOSE, (req) => setOpen(req, false));

    /** The side the requester is on; refuses strangers and closed writers. */
    const side = (req: RmRequest, target: number): { c: Console; isOwner: boolean } => {
      const c = this.lookup(req, target);
      const isOwner = req.client === c.owner;
      if (target !== 0 && !isOwner) throw new RmError(RmErr.DENIED, 'only the owner writes to another VM\'s console');
      if (!(isOwner ? c.ownerOpened : c.selfOpened)) throw new RmError(RmErr.DENIED, 'console is not open on this side');
      return { c, isOwner };
    };

    rpc.handle(RmMsg.VM_CONSOLE_WRITE, async (req) => {
      if (req.body.remaining < 4) throw new RmError(RmErr.MSG_INVALID, 'payload shorter than its header');
      const target = req.body.u16('target');
      const n = req.body.u16('num_bytes');
      if (req.body.remaining !== n) throw new RmError(RmErr.MSG_INVALID, `${req.body.remaining} bytes follow num_bytes ${n}`);
      const bytes = req.body.bytesOf(n);
      const { c, isOwner } = side(req, target);
      if (!(isOwner ? c.selfOpened : c.ownerOpened)) return; // the other side is closed: dropped
      const to = target === 0 ? c.owner : c.self;
      const from = target === 0 ? c.self : 0;
      for (let off = 0; off < n || (n === 0 && off === 0); off += CONSOLE_CHUNK) {
        await rpc.notify(to, RmNotif.VM_CONSOLE_CHARS, consoleCharsPayload(from, bytes.subarray(off, off + CONSOLE_CHUNK)));
        if (n === 0) break;
      }
    });

    rpc.handle(RmMsg.VM_CONSOLE_FLUSH, (req) => {
      // Characters leave on write; a flush only checks the caller may use the console.
      side(req, targetOnly(req));
    });
  }
}
