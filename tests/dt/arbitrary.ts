// fast-check generators of device trees, and a structural equality for them (shared by dt tests).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceTree, DtNode, encodeStringList, encodeU32, type MemReserve } from '../../dt';

const lower = 'abcdefghijklmnopqrstuvwxyz';
const nodeChars = `${lower}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-`;
const propChars = `${lower}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+*#?-`;

const word = (chars: string, max: number) =>
  fc.array(fc.constantFrom(...chars.split('')), { minLength: 1, maxLength: max }).map((a) => a.join(''));

/** Node names as dtc accepts them: base name, optional unit address. */
export const nodeName = fc
  .tuple(fc.constantFrom(...lower.split('')), word(nodeChars, 12), fc.option(word(`${lower}0123456789,`, 8), { nil: undefined }))
  .map(([first, rest, unit]) => `${first}${rest}${unit === undefined ? '' : `@${unit}`}`);

/** Property names, biased towards ones that share tails (dtc's strings table reuses them). */
export const propName = fc.oneof(
  { weight: 3, arbitrary: word(propChars, 16).filter((n) => n !== 'name') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('#address-cells', '#size-cells', 'address-cells', 'cells', 'reg', 'compatible', 'status', 'phandle'),
  },
);

const printable = fc
  .array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 12 })
  .map((a) => String.fromCharCode(...a));

/** Values of every shape dtc's printer distinguishes: strings, string lists, cells, bytes, empty. */
export const propValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.array(printable.filter((s) => s.length > 0), { minLength: 1, maxLength: 3 }).map((l) => encodeStringList(l)),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 6 }).map((c) => encodeU32(c)),
  fc.uint8Array({ minLength: 1, maxLength: 11 }),
  fc.array(fc.constantFrom(0, 7, 9, 10, 13, 0x5c, 0x22, 0x41, 0x7f, 0x80), { minLength: 1, maxLength: 9 }).map((a) => new Uint8Array(a)),
);

interface Shape {
  props: Array<[string, Uint8Array]>;
  children: Array<[string, Shape]>;
}

const shape: fc.Memo<Shape> = fc.memo((n) =>
  fc.record({
    props: fc.uniqueArray(fc.tuple(propName, propValue), { maxLength: 5, selector: ([k]) => k }),
    children: n > 1 ? fc.uniqueArray(fc.tuple(nodeName, shape(n - 1)), { maxLength: 3, selector: ([k]) => k }) : fc.constant([]),
  }),
);

function build(node: DtNode, s: Shape): void {
  for (const [k, v] of s.props) node.setProperty(k, v);
  for (const [k, c] of s.children) build(node.addChild(k), c);
}

const memReserve: fc.Arbitrary<MemReserve[]> = fc.array(
  fc.record({ address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), size: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }) }),
  { maxLength: 3 },
);

/** Random trees (depth up to 4), with reservation entries and a boot CPU. */
export const deviceTree: fc.Arbitrary<DeviceTree> = fc
  .tuple(shape(4), memReserve, fc.integer({ min: 0, max: 0xffffffff }))
  .map(([s, rsv, boot]) => {
    const t = new DeviceTree();
    build(t.root, s);
    t.memReserve = rsv;
    t.bootCpuidPhys = boot;
    return t;
  });

/** Assert two trees have the same nodes, properties (names, order, bytes), reservations and boot CPU. */
export function assertSameTree(a: DeviceTree, b: DeviceTree): void {
  assert.deepEqual(
    a.memReserve.map((r) => [r.address, r.size]),
    b.memReserve.map((r) => [r.address, r.size]),
  );
  assert.equal(a.bootCpuidPhys, b.bootCpuidPhys);
  const flat = (t: DeviceTree) =>
    [...t.walk()].map((n) => ({ path: n.path, props: n.properties.map((p) => [p.name, [...p.value]]) }));
  assert.deepEqual(flat(a), flat(b));
}
