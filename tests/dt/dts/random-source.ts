// Random device-tree sources for the differential fuzz test: small name and label pools so that merges,
// deletes, references, duplicate names and missing labels all come up often.

/** A small deterministic PRNG (mulberry32), so that a seed names a source. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSource(seed: number): string {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number): boolean => r() < p;

  const labels = ['la', 'lb', 'lc', 'ld', 'le', 'lf', 'lg', 'lh'];
  const nodeNames = ['n0', 'n1', 'n2@1', 'n3@10', 'cpus', 'chosen'];
  const propNames = ['p0', 'p1', 'p2', 'reg', 'compatible', 'status'];
  const paths = ['/n0', '/n1', '/n0/n1', '/n2@1', '/cpus', '/n0/n0', '/'];
  /** Labels already placed on nodes, which references mostly pick from. */
  const placed: string[] = [];
  const freshLabel = (): string => {
    const free = labels.filter((l) => !placed.includes(l));
    const l = free.length > 0 && chance(0.9) ? pick(free) : pick(labels);
    placed.push(l);
    return l;
  };
  /** Labels on nodes: what references mostly name (a label of a property or value is not a node). */
  const onNodes: string[] = [];
  const refLabel = (): string => (onNodes.length > 0 && chance(0.95) ? pick(onNodes) : pick(labels));
  /** Mostly something that exists: a label placed on a node, the root, or a likely path; rarely nothing. */
  const ref = (): string => {
    if (onNodes.length > 0 && chance(0.7)) return `&${pick(onNodes)}`;
    if (chance(0.04)) return chance(0.5) ? `&${pick(labels)}` : '&{/nope}';
    return `&{${chance(0.4) ? '/' : pick(paths)}}`;
  };
  const nodeLabel = (): string => {
    const l = freshLabel();
    onNodes.push(l);
    return l;
  };
  /** What /delete-node/ and /omit-if-no-ref/ name: rarely the root (an error of ours, see the test). */
  const targetRef = (): string => (chance(0.02) ? '&{/}' : onNodes.length > 0 && chance(0.6) ? `&${pick(onNodes)}` : `&{${pick(paths.slice(0, -1))}}`);
  /** `k` distinct names from `names` (a block with a name twice is an error; that comes up anyway). */
  const distinct = (names: readonly string[], k: number): string[] => {
    const pool = [...names];
    const out: string[] = [];
    while (out.length < k && pool.length > 0) out.push(pool.splice(int(pool.length), 1)[0]!);
    if (chance(0.01) && out.length > 0) out.push(out[0]!);
    return out;
  };

  const value = (): string => {
    const parts: string[] = [];
    const n = 1 + int(3);
    for (let i = 0; i < n; i++) {
      switch (int(8)) {
        case 0:
          parts.push(`"s${int(10)}"`);
          break;
        case 1:
          parts.push(ref());
          break;
        case 2:
          parts.push(`[${Array.from({ length: int(4) }, () => int(256).toString(16).padStart(2, '0')).join(' ')}]`);
          break;
        case 3:
          parts.push(`/bits/ ${pick([8, 16, 64])} <${int(260)} (${int(9)} - 1)>`);
          break;
        default: {
          const cells = Array.from({ length: int(4) }, () => (chance(0.4) ? ref() : chance(0.2) ? `(${int(99)} * ${int(9)})` : String(int(0x10000))));
          parts.push(`<${cells.join(' ')}>`);
        }
      }
      if (chance(0.05)) parts[parts.length - 1] += ` ${freshLabel()}:`;
    }
    return parts.join(', ');
  };

  const body = (depth: number, ind: string): string => {
    let out = '';
    for (const name of distinct(propNames, int(4))) {
      if (chance(0.1)) out += `${ind}/delete-property/ ${name};\n`;
      else if (chance(0.15)) out += `${ind}${name};\n`;
      else out += `${ind}${chance(0.1) ? `${freshLabel()}: ` : ''}${name} = ${value()};\n`;
    }
    if (chance(0.05)) out += `${ind}phandle = <${chance(0.5) ? 1 + int(4) : '&' + refLabel()}>;\n`;
    if (depth > 2) return out;
    for (const name of distinct(nodeNames, int(4))) {
      if (chance(0.1)) {
        out += `${ind}/delete-node/ ${name};\n`;
        continue;
      }
      const lab = chance(0.4) ? `${nodeLabel()}: ` : '';
      const lab2 = chance(0.1) ? `${nodeLabel()}: ` : '';
      const omit = chance(0.05) ? '/omit-if-no-ref/ ' : '';
      out += `${ind}${omit}${lab}${lab2}${name} {\n${body(depth + 1, `${ind}\t`)}${ind}};\n`;
    }
    return out;
  };

  const plugin = chance(0.2);
  let src = `/dts-v1/;\n${plugin ? '/plugin/;\n' : ''}`;
  if (chance(0.2)) src += `${chance(0.5) ? 'mr: ' : ''}/memreserve/ ${int(0x1000)} ${1 + int(0x1000)};\n`;
  if (plugin && chance(0.3)) src += `${ref()} {\n${body(1, '\t')}};\n`;
  else src += `/ {\n${body(0, '\t')}};\n`;
  const extra = int(5);
  for (let i = 0; i < extra; i++) {
    switch (int(6)) {
      case 0:
        src += `/ {\n${body(0, '\t')}};\n`;
        break;
      case 1:
        src += `${nodeLabel()}: ${ref()} {\n${body(1, '\t')}};\n`;
        break;
      case 2:
        src += `/delete-node/ ${targetRef()};\n`;
        break;
      case 3:
        src += `/omit-if-no-ref/ ${targetRef()};\n`;
        break;
      default:
        src += `${ref()} {\n${body(1, '\t')}};\n`;
    }
  }
  return src;
}
