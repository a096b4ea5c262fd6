// Run the gunyah CLI as a child process (node with tsx, as `npm start` does) and collect its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const GUNYAH = resolve(ROOT, 'tools', 'gunyah.ts');
export const FIXTURES = resolve(ROOT, 'tests', 'fixtures', 'boards');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Called with the stdout seen so far on every chunk (to act on output: send a signal...). */
  onStdout?: (text: string, child: ChildProcess) => void;
  timeoutMs?: number;
  cwd?: string;
}

/** The node command line that runs the CLI. */
export function cliArgv(args: readonly string[]): string[] {
  return ['--import', 'tsx', GUNYAH, ...args];
}

export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, cliArgv(args), { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gunyah ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 120_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** The console lines of one source (`name | text`), prefix removed. */
export function linesOf(stdout: string, name: string): string[] {
  const re = new RegExp(`^${name}\\s*\\| (.*)$`);
  return stdout
    .split('\n')
    .map((l) => re.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

/** No JS stack frame in `text` (errors are for people unless --debug). */
export function hasStack(text: string): boolean {
  return /^\s+at .+[:(]/m.test(text);
}
