// The trace stream: hypercalls, interrupt deliveries, scheduling decisions, object and vCPU state
// changes, MMIO exits, each with its virtual timestamp. Nothing is built unless someone subscribes.
import { Observable, type Subscriber } from 'rxjs';
import { ghErrorName } from './abi/errors';
import { hvcName } from './abi/hypercalls';
import { ObjectState, objectTypeName } from './abi/objects';
import type { KObject } from './objects/kobject';
import type { RunTuple } from './sched/scheduler';
import type { Vcpu } from './vm/vcpu';

interface TraceBase {
  /** Virtual time in ns. */
  readonly t: number;
  /** VMID of the vCPU concerned (0 when none). */
  readonly vmid: number;
  /** vCPU index within its VM (-1 when none). */
  readonly vcpu: number;
}

export type TraceEvent =
  | (TraceBase & { readonly kind: 'hvc'; readonly call: number; readonly name: string; readonly args: readonly bigint[]; readonly result: number; readonly error: string })
  | (TraceBase & { readonly kind: 'smccc'; readonly fn: number; readonly result: bigint })
  | (TraceBase & { readonly kind: 'irq'; readonly intid: number; readonly action: 'assert' | 'ack' | 'eoi' | 'sgi' })
  | (TraceBase & { readonly kind: 'sched'; readonly cpu: number })
  /** What runs on physical CPU `cpu` from `t` on: the vCPU named by vmid/vcpu (a vcpu_run target in its caller's place), or nothing (vcpu -1). */
  | (TraceBase & { readonly kind: 'run'; readonly cpu: number })
  | (TraceBase & { readonly kind: 'object'; readonly object: number; readonly type: string; readonly state: string; readonly error: string })
  | (TraceBase & { readonly kind: 'power'; readonly what: 'on' | 'off' | 'fault' | 'exited'; readonly detail?: string })
  | (TraceBase & { readonly kind: 'run-exit'; readonly target: number; readonly state: number; readonly data: readonly bigint[] })
  | (TraceBase & { readonly kind: 'mmio'; readonly ipa: number; readonly size: number; readonly write: boolean; readonly value: bigint; readonly route: string })
  | (TraceBase & { readonly kind: 'system'; readonly what: string });

export class Tracer {
  private readonly subs = new Set<Subscriber<TraceEvent>>();
  /** True while someone listens; every emit site checks it first. */
  enabled = false;
  /** trace_update_class_flags state (the classes a guest asked for; all events are one class here). */
  classFlags = 0n;
  readonly events$: Observable<TraceEvent>;

  constructor(private readonly clock: () => number) {
    this.events$ = new Observable<TraceEvent>((sub) => {
      this.subs.add(sub);
      this.enabled = true;
      return () => {
        this.subs.delete(sub);
        this.enabled = this.subs.size > 0;
      };
    });
  }

  private emit(e: TraceEvent): void {
    for (const s of this.subs) s.next(e);
  }

  private base(v: Vcpu | null, t?: number): TraceBase {
    return { t: t ?? this.clock(), vmid: v?.vmid ?? 0, vcpu: v ? v.index : -1 };
  }

  hvc(v: Vcpu, t: number, call: number, args: readonly bigint[], result: number): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v, t), kind: 'hvc', call, name: hvcName(call), args, result, error: ghErrorName(result) });
  }

  smccc(v: Vcpu, t: number, fn: number, result: bigint): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v, t), kind: 'smccc', fn, result });
  }

  irq(v: Vcpu, intid: number, action: 'assert' | 'ack' | 'eoi' | 'sgi'): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v), kind: 'irq', intid, action });
  }

  sched(cpu: number, v: Vcpu): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v), kind: 'sched', cpu });
  }

  run(cpu: number, v: Vcpu | null, t: number): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v, t), kind: 'run', cpu });
  }

  objectState(o: KObject, err: number): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(null), kind: 'object', object: o.id, type: objectTypeName(o.type), state: ObjectState[o.state] ?? String(o.state), error: ghErrorName(err) });
  }

  power(v: Vcpu, what: 'on' | 'off' | 'fault' | 'exited', detail?: unknown): void {
    if (!this.enabled) return;
    const d = detail === undefined ? {} : { detail: detail instanceof Error ? detail.message : String(detail) };
    this.emit({ ...this.base(v), kind: 'power', what, ...d });
  }

  runExit(caller: Vcpu, target: Vcpu, tuple: RunTuple): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(caller), kind: 'run-exit', target: target.index, state: tuple[0], data: [tuple[1], tuple[2], tuple[3]] });
  }

  mmio(v: Vcpu, ipa: number, size: number, write: boolean, value: bigint, route: string): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(v), kind: 'mmio', ipa, size, write, value, route });
  }

  system(what: string): void {
    if (!this.enabled) return;
    this.emit({ ...this.base(null), kind: 'system', what });
  }
}
