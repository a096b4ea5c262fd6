// compileDts: device-tree source in, a DeviceTree out — what `dtc -I dts` builds before it writes a blob.
import { DeviceTree, DtNode, DtProperty, type MemReserve } from '../tree';
import { ERROR_CHECKS, runChecks, type CheckContext } from './checks';
import { diagnostic, DtsError, type DtsDiagnostic, type SourcePosition } from './dts-error';
import { Lexer } from './lexer';
import { liveLabels, LiveTree, type LiveLabel, type LiveNode, type PhandleFormat } from './live-tree';
import { generateFixups, generateLocalFixups, generateSymbols } from './overlay-nodes';
import { Parser, type ParsedReserve } from './parser';
import { dirnameOf, hostReadFile, normalizePath, SourceLoader, toBytes, type ReadFile } from './source-files';
import { WARNING_CHECKS } from './warnings';

export interface CompileDtsOptions {
  /** The name messages use for the source, and where its relative /include/s start (default `<input>`, the current directory). */
  fileName?: string;
  /** Directories searched, in order, for /include/ and /incbin/ files not found next to the including file (dtc -i). */
  includeDirs?: readonly string[];
  /** Add `/__symbols__` (dtc -@): a property per label with its node's path, and phandles for labelled nodes. */
  symbols?: boolean;
  /** How included files are read; default: node:fs when running under Node.js, else includes fail. */
  readFile?: ReadFile;
  /** Which phandle properties are written (dtc -H); default `epapr` (`phandle` only), as dtc. */
  phandleFormat?: PhandleFormat;
}

export interface CompiledDts {
  tree: DeviceTree;
  /** The source said `/plugin/;`: the tree is an overlay (with `__fixups__`/`__local_fixups__` when needed). */
  plugin: boolean;
  /** dtc's warnings (a subset of its checks; see the README), in check order. Not printed by compileDts. */
  warnings: DtsDiagnostic[];
}

/** Live label names, or undefined when there are none (the tree model then stores nothing). */
function labelsOf(labels: readonly LiveLabel[]): string[] | undefined {
  if (labels.length === 0) return undefined;
  const live = liveLabels(labels);
  return live.length > 0 ? live : undefined;
}

function toDtNode(n: LiveNode): DtNode {
  const out = new DtNode(n.name, labelsOf(n.labels));
  for (const p of n.props) {
    if (!p.deleted) out.properties.push(new DtProperty(p.name, p.data.toBytes(), labelsOf(p.labels)));
  }
  for (const c of n.children) {
    if (c.deleted) continue;
    const child = toDtNode(c);
    child.parent = out;
    out.children.push(child);
  }
  return out;
}

function toMemReserve(r: ParsedReserve): MemReserve {
  return r.labels.length > 0 ? { address: r.address, size: r.size, labels: r.labels } : { address: r.address, size: r.size };
}

/**
 * Compiles dtc's source language. The result, serialized with `toFdt`, is the blob `dtc -I dts -O dtb` (with `-@`
 * when `symbols` is set) writes for the same source. Throws `DtsError` (file:line:column and every error found)
 * when dtc would refuse the source.
 */
export function compileDts(source: string | Uint8Array, options: CompileDtsOptions = {}): CompiledDts {
  const fileName = options.fileName ?? '<input>';
  const loader = new SourceLoader(options.readFile ?? hostReadFile(), options.includeDirs ?? []);
  const main = { name: fileName, dir: dirnameOf(fileName), bytes: toBytes(source), key: normalizePath(fileName) };
  const errors: DtsDiagnostic[] = [];
  const lexer = new Lexer(main, loader, {
    error: (pos: SourcePosition, message: string) => {
      errors.push(diagnostic(pos, 'error', message));
    },
    fatal: (pos: SourcePosition, message: string): never => {
      throw new DtsError([...errors, diagnostic(pos, 'error', message)]);
    },
  });
  const tree = new LiveTree(options.phandleFormat ?? 'epapr');
  const diagnostics: DtsDiagnostic[] = [];
  const parsed = new Parser(lexer, tree, loader, errors, diagnostics).parse();
  if (errors.length > 0) throw new DtsError([...errors, ...diagnostics]);

  const symbols = options.symbols ?? false;
  const ctx: CheckContext = { tree, plugin: parsed.plugin, symbols, diagnostics };
  const status = new Map<string, boolean>();
  const failed = runChecks(ctx, ERROR_CHECKS, status);
  runChecks(ctx, WARNING_CHECKS, status);
  if (failed) {
    throw new DtsError([
      ...diagnostics.filter((d) => d.severity === 'error'),
      ...diagnostics.filter((d) => d.severity !== 'error'),
    ]);
  }

  if (symbols) generateSymbols(tree, diagnostics);
  if (parsed.plugin) {
    generateFixups(tree);
    generateLocalFixups(tree);
  }

  const out = new DeviceTree();
  out.root = toDtNode(tree.root);
  out.memReserve = parsed.reserves.map(toMemReserve);
  out.bootCpuidPhys = parsed.bootCpuid;
  return { tree: out, plugin: parsed.plugin, warnings: diagnostics };
}
