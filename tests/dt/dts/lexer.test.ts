// The tokenizer's modes (names after '{' and ';', integers in values, bytes in [ ]), literals, escapes and line markers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lexer } from '../../../dt/dts/lexer';
import { decodeEscapes } from '../../../dt/dts/escapes';
import { DtsError } from '../../../dt/index';
import type { SourcePosition } from '../../../dt/index';

function lex(text: string, files: Record<string, string> = {}): string[] {
  const main = { name: 'm.dts', dir: undefined, bytes: new TextEncoder().encode(text), key: 'm.dts' };
  const lexer = new Lexer(
    main,
    {
      open: (name) => {
        const t = files[name];
        return t === undefined
          ? { ok: false, reason: 'no such file' }
          : { ok: true, file: { name, dir: undefined, bytes: new TextEncoder().encode(t), key: name } };
      },
    },
    {
      error: (p: SourcePosition, m: string) => {
        throw new Error(`${p.line}:${p.column} ${m}`);
      },
      fatal: (p: SourcePosition, m: string): never => {
        throw new Error(`${p.line}:${p.column} ${m}`);
      },
    },
  );
  const out: string[] = [];
  for (;;) {
    const t = lexer.next();
    if (t.kind === 'eof') return out;
    const v = t.kind === 'literal' || t.kind === 'char' || t.kind === 'byte' ? `=${t.value}` : t.name ? `=${t.name}` : '';
    out.push(`${t.kind}${v}@${t.file === 'm.dts' ? '' : t.file + ':'}${t.line}:${t.column}`);
  }
}

test('after { and ; a run of name characters is one name token, numbers included', () => {
  assert.deepEqual(lex('/ { cpu@0 { reg = <0x10>; }; 0x10; #size-cells; };'), [
    '/@1:1', '{@1:3', 'name=cpu@0@1:5', '{@1:11', 'name=reg@1:13', '=@1:17', '<@1:19', 'literal=16@1:20', '>@1:24',
    ';@1:25', '}@1:27', ';@1:28', 'name=0x10@1:30', ';@1:34', 'name=#size-cells@1:36', ';@1:47', '}@1:49', ';@1:50',
  ]);
});

test("a label is the longest match (\"a:\" before a name, never inside one); after a name the mode is values", () => {
  assert.deepEqual(lex('{ lbl: n,x: p; }'), ['{@1:1', 'label=lbl@1:3', 'name=n,x@1:8', ':@1:11', 'p@1:13', ';@1:14', '}@1:16']);
});

test('integer literals: hex, octal, decimal, suffixes', () => {
  assert.deepEqual(
    lex('= 0 10 0x1F 0X1f 017 1U 2UL 3ULL 4LL 0xffffffffffffffff').map((s) => s.split('@')[0]),
    ['=', 'literal=0', 'literal=10', 'literal=31', 'literal=31', 'literal=15', 'literal=1', 'literal=2', 'literal=3', 'literal=4', 'literal=18446744073709551615'],
  );
  assert.throws(() => lex('= 0x10000000000000000'), /1:3 Integer literal '0x10000000000000000' out of range/);
  assert.throws(() => lex('= 08'), /Bad integer literal '08'/);
});

test('byte strings read pairs of hex digits, labels allowed; ] ends them', () => {
  assert.deepEqual(lex('= [0a1B l: ff] 12'), ['=@1:1', '[@1:3', 'byte=10@1:4', 'byte=27@1:6', 'label=l@1:9', 'byte=255@1:12', ']@1:14', 'literal=12@1:16']);
});

test('references, path references and operators', () => {
  assert.deepEqual(lex('= <&foo &{/a/b@1} (1 && 2 << 3 >= 4 != 5)>').map((s) => s.split('@')[0]), [
    '=', '<', 'labelref=foo', 'pathref=/a/b', '(', 'literal=1', '&&', 'literal=2', '<<', 'literal=3', '>=', 'literal=4', '!=', 'literal=5', ')', '>',
  ]);
});

test('keywords; /incbin/ is not one inside a name position', () => {
  assert.deepEqual(lex('/dts-v1/; /plugin/; /memreserve/ /bits/ /delete-node/ /delete-property/ /omit-if-no-ref/').map((s) => s.split('@')[0]), [
    'v1', ';', 'plugin', ';', 'memreserve', 'bits', 'delnode', 'delprop', 'omit',
  ]);
  assert.deepEqual(lex('= /incbin/').map((s) => s.split('@')[0]), ['=', 'incbin']);
  assert.equal(lex('; /incbin/')[1], '/@1:3');
});

test('comments and whitespace count lines and columns (tabs are one column)', () => {
  assert.deepEqual(lex('/* a\n b */\t= // c\n\t\t<'), ['=@2:7', '<@3:3']);
});

test('cpp line markers rename the file and renumber lines', () => {
  assert.deepEqual(lex('# 10 "x.dtsi" 1\n=\n#line 3 "y.dts"\n<'), ['=@x.dtsi:10:1', '<@y.dts:3:1']);
  // Not a marker: a property name that starts with '#'.
  assert.deepEqual(lex('; #address-cells;'), [';@1:1', 'name=#address-cells@1:3', ';@1:17']);
});

test('/include/ splices the file in; the lexer goes back afterwards', () => {
  assert.deepEqual(lex('= /include/ "i.dtsi" <', { 'i.dtsi': '\n  [' }), ['=@1:1', '[@i.dtsi:2:3', '<@1:22']);
});

test('character literals and string escapes', () => {
  assert.deepEqual(lex(`= '\\n' 'a' '\\'' '\\x41' '\\101'`).map((s) => s.split('@')[0]), ['=', 'char=10', 'char=97', 'char=39', 'char=65', 'char=65']);
  const dec = (s: string) => Buffer.from(decodeEscapes(new TextEncoder().encode(s), 0, s.length, () => assert.fail())).toString('latin1');
  assert.equal(dec('\\a\\b\\t\\n\\v\\f\\r'), '\x07\x08\t\n\x0b\x0c\r');
  assert.equal(dec('\\0\\00\\101\\1012\\777'), '\0\0AA2\xff');
  assert.equal(dec('\\x4\\x41\\x414\\q\\\\\\"'), '\x04AA4q\\"');
});

test('lexer failures reach callers as DtsError through compileDts', async () => {
  const { compileDts } = await import('../../../dt/index');
  assert.throws(() => compileDts('/dts-v1/; / { a = "x'), DtsError);
});
