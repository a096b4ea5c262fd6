// dtc's integer expressions: C operators on unsigned 64-bit values (every result wraps modulo 2^64, comparisons are unsigned).

/** A literal's value: a number while exact (below 2^53), else a bigint. */
export type IntValue = number | bigint;

/** Deepest nesting of parentheses, unary operators and ?: accepted (a guard for the recursive parser). */
export const MAX_EXPRESSION_DEPTH = 256;

export function toU64(v: IntValue): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

const b = (x: boolean): bigint => (x ? 1n : 0n);

/** `left op right`, or undefined for a division or modulo by zero (dtc reports it and uses 0). */
export function evalBinary(op: string, l: bigint, r: bigint): bigint | undefined {
  switch (op) {
    case '*':
      return BigInt.asUintN(64, l * r);
    case '/':
      return r === 0n ? undefined : l / r;
    case '%':
      return r === 0n ? undefined : l % r;
    case '+':
      return BigInt.asUintN(64, l + r);
    case '-':
      return BigInt.asUintN(64, l - r);
    // A shift by 64 or more gives 0 (dtc checks; in C it would be undefined).
    case '<<':
      return r < 64n ? BigInt.asUintN(64, l << r) : 0n;
    case '>>':
      return r < 64n ? l >> r : 0n;
    case '<':
      return b(l < r);
    case '>':
      return b(l > r);
    case '<=':
      return b(l <= r);
    case '>=':
      return b(l >= r);
    case '==':
      return b(l === r);
    case '!=':
      return b(l !== r);
    case '&':
      return l & r;
    case '^':
      return l ^ r;
    case '|':
      return l | r;
    case '&&':
      return b(l !== 0n && r !== 0n);
    case '||':
      return b(l !== 0n || r !== 0n);
    default:
      throw new RangeError(`not a binary operator: ${op}`);
  }
}
