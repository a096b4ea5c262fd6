// Bad sources: each gives a DtsError at the exact line and column (1-based, as dtc counts), naming what was
// found and what was expected; never another kind of exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtsError, formatDiagnostic } from '../../../dt/index';
import { compileError } from './helpers';

function expectError(
  src: string,
  line: number,
  column: number,
  message: RegExp,
  files: Record<string, string | Uint8Array> = {},
  file = 'test.dts',
): DtsError {
  const err = compileError(src, files);
  const first = err.errors[0]!;
  assert.equal(`${first.file}:${first.line}:${first.column}`, `${file}:${line}:${column}`, err.message);
  assert.match(first.message, message);
  assert.equal(err.message, formatDiagnostic(first));
  assert.equal(err.line, line);
  assert.equal(err.column, column);
  return err;
}

const V1 = '/dts-v1/;\n';

test('the message is file:line:col: error: text', () => {
  const err = compileError(`${V1}/ {\n\ta = <&nope>;\n};\n`);
  assert.equal(err.message, 'test.dts:3:7: error: reference to non-existent node or label "nope" [phandle_references]');
  assert.ok(err instanceof DtsError);
});

test('unterminated string: at its opening quote', () => {
  expectError(`${V1}/ {\n\ta = "abc;\n};\n`, 3, 6, /unterminated string/);
  expectError(`${V1}/ {\n\ta = "abc\\\nd";\n};\n`, 3, 6, /backslash cannot escape a line break/);
});

test('unterminated node: at the end of input, naming the node and where it opened', () => {
  const err = expectError(`${V1}/ {\n\tfoo {\n\t\ta;\n\t};\n`, 6, 1, /end of input inside the root node \(opened at 2:3\): expected '}'/);
  assert.equal(err.errors.length, 1);
  expectError(`${V1}/ {\n\tfoo {\n\t\ta;\n`, 5, 1, /end of input inside node 'foo' \(opened at 3:6\)/);
});

test('unterminated comment, character literal and path reference', () => {
  expectError(`${V1}/* never closed\n/ { };\n`, 2, 1, /unterminated comment/);
  expectError(`${V1}/ { a = <'a>; };\n`, 2, 10, /unterminated character literal/);
  expectError(`${V1}/ { a = <&{/foo>; };\n`, 2, 16, /bad path reference: expected '}' after '&\{\/foo'/);
});

test('references to missing labels and paths', () => {
  expectError(`${V1}/ {\n\ta = <1 &nope>;\n};\n`, 3, 9, /non-existent node or label "nope"/);
  expectError(`${V1}/ {\n\ta = &{/x/y};\n};\n`, 3, 6, /non-existent node or label "\/x\/y"/);
  expectError(`${V1}/ { };\n\n&nope { };\n`, 4, 1, /Label or path nope not found/);
  expectError(`${V1}/ { };\nl: &{/nope} { };\n`, 3, 4, /Label or path \/nope not found/);
  expectError(`${V1}/ { };\n/delete-node/ &gone;\n`, 3, 15, /Label or path gone not found/);
  // A plugin resolves phandle references later, but a path must exist in the overlay itself.
  expectError(`${V1}/plugin/;\n/ {\n\ta = <&elsewhere>;\n\tb = &elsewhere;\n};\n`, 5, 6, /non-existent node or label "elsewhere"/);
});

test('every error is reported, not only the first', () => {
  const err = compileError(`${V1}/ {\n\ta = <&one>;\n\tb = <&two>;\n};\n&three { };\n`);
  // Parse errors come first (dtc stops before its checks when parsing failed).
  assert.deepEqual(
    err.errors.map((d) => `${d.line}:${d.column} ${d.message}`),
    ['6:1 Label or path three not found'],
  );
  const checks = compileError(`${V1}/ {\n\ta = <&one>;\n\tb = <&two>;\n};\n`);
  assert.deepEqual(
    checks.errors.map((d) => `${d.line}:${d.column}`),
    ['3:7', '4:7'],
  );
});

test('duplicate labels: at the second use, naming both places', () => {
  expectError(`${V1}/ {\n\tx: a { };\n\tx: b { };\n};\n`, 4, 2, /duplicate label 'x' on \/b and \/a \(at test\.dts:3:2\)/);
  expectError(`${V1}/ {\n\tx: p = <1>;\n\tx: n { };\n};\n`, 3, 2, /duplicate label 'x' on 'p' in \/ and \/n/);
  expectError(`${V1}/ {\n\tp = <1 x: 2>;\n\tq = x: <3>;\n};\n`, 4, 6, /duplicate label 'x' on value of 'q' in \/ and value of 'p' in \//);
});

test('duplicate node and property names', () => {
  expectError(`${V1}/ {\n\tn { };\n\tn { };\n};\n`, 4, 2, /duplicate node name 'n' in \/ \(first defined at test\.dts:3:2\)/);
  expectError(`${V1}/ {\n\tp;\n\tq;\n\tp = <2>;\n};\n`, 5, 2, /duplicate property 'p' in \/ \(first defined at test\.dts:3:2\)/);
  expectError(`${V1}/ {\n\tn { };\n\t/delete-node/ n;\n};\n`, 4, 2, /\/delete-node\/ n in the block that defines node 'n'/);
});

test('division and modulo by zero: at the start of the term, as dtc reports it', () => {
  expectError(`${V1}/ {\n\ta = <(1 + 4 / (2 - 2))>;\n};\n`, 3, 12, /Division by zero/);
  expectError(`${V1}/ {\n\ta = <(7 % 0)>;\n};\n`, 3, 8, /Division by zero/);
  // dtc evaluates both sides of && and ?:, so an unused division by zero is still one.
  expectError(`${V1}/ {\n\ta = <(0 && (1 / 0))>;\n};\n`, 3, 14, /Division by zero/);
  expectError(`${V1}/ {\n\ta = <(1 ? 2 : 3 % 0)>;\n};\n`, 3, 16, /Division by zero/);
});

test('cells out of range for their /bits/ size', () => {
  expectError(`${V1}/ {\n\ta = /bits/ 8 <0x100>;\n};\n`, 3, 16, /Value out of range for 8-bit array element/);
  expectError(`${V1}/ {\n\ta = /bits/ 16 <1 (0x10000)>;\n};\n`, 3, 19, /Value out of range for 16-bit array element/);
  expectError(`${V1}/ {\n\ta = <0x100000000>;\n};\n`, 3, 7, /Value out of range for 32-bit array element/);
  expectError(`${V1}/ {\n\ta = /bits/ 12 <1>;\n};\n`, 3, 13, /Array elements must be 8, 16, 32 or 64-bits/);
  expectError(`${V1}/ {\n\tl: n { };\n};\n/ {\n\ta = /bits/ 8 <&l>;\n};\n`, 6, 16, /References are only allowed in arrays with 32-bit elements/);
  expectError(`${V1}/ { a = /bits/ x <1>; };\n`, 2, 16, /expected the element size \(8, 16, 32 or 64\) after \/bits\/, found 'x'/);
});

test('integer and character literals', () => {
  expectError(`${V1}/ { a = /bits/ 64 <0x10000000000000000>; };\n`, 2, 20, /Integer literal '0x10000000000000000' out of range/);
  expectError(`${V1}/ { a = <09>; };\n`, 2, 10, /Bad integer literal '09'/);
  expectError(`${V1}/ { a = <''>; };\n`, 2, 10, /Empty character literal/);
  expectError(`${V1}/ { a = <'ab'>; };\n`, 2, 10, /Character literal has 2 characters instead of 1/);
  expectError(`${V1}/ { a = "\\xg"; };\n`, 2, 10, /\\x used with no following hex digits/);
});

test('syntax errors name the token found and what was expected', () => {
  expectError(`/ { };\n`, 1, 1, /expected '\/dts-v1\/;' \(a dtc source starts with it\), found '\/'/);
  expectError(`${V1}/ {\n\ta = <1>\n\tb;\n};\n`, 4, 2, /expected ';' or ',' after the value of property 'a', found 'b'/);
  expectError(`${V1}/ {\n\ta = $;\n};\n`, 3, 6, /expected a value \("string", <cells>, \[bytes\], &reference or \/incbin\/\), found '\$'/);
  expectError(`${V1}/ {\n\ta = <-1>;\n};\n`, 3, 7, /expected a number, a \(expression\), a &reference or '>' in a cell list, found '-'/);
  expectError(`${V1}/ { };\n};\n`, 3, 1, /expected '\/ \{', '&ref \{', \/delete-node\/ or the end of the file, found '}'/);
  expectError(`${V1}/ { p = [0 1]; };\n`, 2, 10, /expected a byte \(two hex digits\) or ']' in a byte string, found '0'/);
  expectError(`${V1}/ { p = `, 2, 9, /found end of input/);
  expectError(`${V1}/ { n { } };\n`, 2, 11, /expected ';' after the '}' that closes node 'n', found '}'/);
  expectError(`${V1}/ { a = <(1 + )>; };\n`, 2, 15, /expected a number, a character literal or '\(', found '\)'/);
  expectError(`${V1}/ { a = <(1 ? 2)>; };\n`, 2, 16, /expected ':' in a \?: expression, found '\)'/);
  expectError(`${V1}/ { x: };\n`, 2, 8, /expected a property or node name after label 'x:', found '}'/);
  expectError(`${V1}/ { n; n = <1> };\n`, 2, 16, /expected ';' or ','/);
  expectError(`${V1}/ {\n\tn { };\n\tp;\n};\n`, 4, 2, /property 'p' after a child node: properties must precede subnodes/);
});

test('C preprocessor directives are named as such', () => {
  expectError(`${V1}#include "board.h"\n/ { };\n`, 2, 1, /C preprocessor directive '#include'.*run the source through cpp first/);
  expectError(`${V1}/ {\n#define X 1\n};\n`, 3, 1, /C preprocessor directive '#define'/);
});

test('includes: missing files, cycles, errors inside an included file', () => {
  expectError(`${V1}/include/ "nope.dtsi"\n/ { };\n`, 2, 1, /\/include\/ "nope\.dtsi": no such file/);
  const cycle = expectError(`${V1}/include/ "a.dtsi"\n/ { };\n`, 2, 1, /include cycle \(a\.dtsi -> b\.dtsi -> a\.dtsi\)/, {
    'a.dtsi': '/include/ "b.dtsi"\n',
    'b.dtsi': '\n/include/ "a.dtsi"\n',
  }, 'b.dtsi');
  assert.equal(cycle.errors.length, 1);
  const self = `${V1}/include/ "test.dts"\n/ { };\n`;
  expectError(self, 2, 1, /include cycle \(test\.dts -> test\.dts\)/, { 'test.dts': self });
  expectError(`${V1}/include/ "bad.dtsi"\n`, 3, 6, /unterminated string/, { 'bad.dtsi': '/ {\n\tok;\n\ta = "oops;\n};\n' }, 'bad.dtsi');
  expectError(`${V1}/include/ bad.dtsi\n`, 2, 1, /expected a quoted file name after \/include\//);
  expectError(`${V1}/ { a = /incbin/("none.bin"); };\n`, 2, 18, /\/incbin\/ "none\.bin": no such file/);
});

test('includes nested deeper than dtc allows (200) are an error, not a stack overflow', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 250; i++) files[`f${i}.dtsi`] = `/include/ "f${i + 1}.dtsi"\n`;
  const err = compileError(`${V1}/include/ "f0.dtsi"\n/ { };\n`, files);
  assert.match(err.message, /^f198\.dtsi:1:1: error: \/include\/ "f199\.dtsi": includes nested too deeply \(more than 200 levels\)/);
});

test('include directories are searched after the including file\'s directory, and reported', () => {
  const err = compileError(`${V1}/include/ "x.dtsi"\n/ { };\n`, {}, { fileName: 'dir/test.dts', includeDirs: ['inc1', 'inc2'] });
  assert.match(err.message, /no such file \(looked in: dir\/x\.dtsi, inc1\/x\.dtsi, inc2\/x\.dtsi\)/);
});

test('line markers from cpp name the original file and line', () => {
  expectError(`${V1}# 40 "board.dtsi"\n/ {\n\ta = <&nope>;\n};\n`, 41, 7, /non-existent/, {}, 'board.dtsi');
});

test('explicit phandles', () => {
  expectError(`${V1}/ {\n\tn { phandle = <0>; };\n};\n`, 3, 6, /bad value \(0x0\) in phandle property/);
  expectError(`${V1}/ {\n\tn { linux,phandle = <0xffffffff>; };\n};\n`, 3, 6, /bad value \(0xffffffff\) in linux,phandle property/);
  expectError(`${V1}/ {\n\tn { phandle = <1 2>; };\n};\n`, 3, 6, /bad length \(8\) phandle property/);
  expectError(`${V1}/ {\n\ta { phandle = <1>; };\n\tb { phandle = <1>; };\n};\n`, 4, 6, /duplicated phandle 0x1 \(seen before at \/a\)/);
  expectError(`${V1}/ {\n\tl: a { };\n\tb { phandle = <&l>; };\n};\n`, 4, 17, /phandle is a reference to another node/);
  expectError(`${V1}/ {\n\ta { phandle = <1>; linux,phandle = <2>; };\n};\n`, 3, 2, /mismatching 'phandle' and 'linux,phandle'/);
});

test('names: bad characters, several @, a wrong "name" property', () => {
  expectError(`${V1}/ { a#b { }; };\n`, 2, 5, /bad character '#' in node name 'a#b'/);
  expectError(`${V1}/ { a@b; };\n`, 2, 5, /bad character '@' in property name 'a@b'/);
  expectError(`${V1}/ { a@1@2 { }; };\n`, 2, 5, /multiple '@' characters in node name/);
  expectError(`${V1}/ { n@1 { name = "m"; }; };\n`, 2, 11, /"name" property is incorrect \("m" instead of base node name "n"\)/);
  expectError(`${V1}/ { n { name = <1>; }; };\n`, 2, 9, /property 'name' of \/n is not a string/);
});

test('what dtc accepts but a device tree cannot hold', () => {
  expectError(`${V1}/memreserve/ 0x1000 0;\n/ { };\n`, 2, 21, /\/memreserve\/ size 0/);
  expectError(`${V1}/ { };\n/delete-node/ &{/};\n`, 3, 15, /the root node cannot be deleted/);
  expectError(`${V1}/ { };\n/omit-if-no-ref/ &{/};\n`, 3, 18, /the root node cannot be deleted/);
});

test('/memreserve/ and headers after the first node say where they belong', () => {
  expectError(`${V1}/ { };\n/memreserve/ 1 2;\n`, 3, 1, /\/memreserve\/ must come before the first node/);
  expectError(`${V1}/ { };\n/plugin/;\n`, 3, 1, /\/plugin\/ must come before the first node/);
});

test('header flags must agree', () => {
  expectError(`${V1}/dts-v1/; /plugin/;\n/ { };\n`, 2, 1, /Header flags don't match earlier ones/);
});

test('nesting limits give an error, not a stack overflow', () => {
  const deep = 'n { '.repeat(1001) + '};'.repeat(1001);
  expectError(`${V1}/ { ${deep} };\n`, 2, 4003, /nodes nested too deeply \(more than 1000 levels\)/);
  const parens = '('.repeat(300) + '1' + ')'.repeat(300);
  expectError(`${V1}/ { a = <${parens}>; };\n`, 2, 266, /expression nested too deeply/);
  const unary = '-'.repeat(300);
  expectError(`${V1}/ { a = <(${unary}1)>; };\n`, 2, 266, /expression nested too deeply/);
  // Deep trees made by merging blocks, one level at a time.
  let src = `${V1}/ { l0: n { }; };\n`;
  for (let i = 1; i <= 1000; i++) src += `&l${i - 1} { l${i}: n { }; };\n`;
  const err = compileError(src);
  assert.match(err.message, /nodes nested too deeply: merging this block makes the tree more than 1000 levels deep/);
});
