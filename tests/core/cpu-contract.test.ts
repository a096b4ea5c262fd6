// core/'s Cpu and firmware's GuestCpu are the same contract: each must be assignable to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestCpu } from '../../firmware/hypervisor/index';
import type { Cpu } from '../../core/index';

type Assignable<A, B> = [A] extends [B] ? true : false;
const guestToCore: Assignable<GuestCpu, Cpu> = true;
const coreToGuest: Assignable<Cpu, GuestCpu> = true;

test('Cpu and GuestCpu are structurally identical (checked by tsc)', () => {
  // The two constants above only type-check when assignment works in both directions.
  assert.equal(guestToCore && coreToGuest, true);
  const f = (g: GuestCpu): Cpu => g;
  const h = (c: Cpu): GuestCpu => c;
  assert.equal(typeof f, 'function');
  assert.equal(typeof h, 'function');
});
