// `gunyah run --attach <vm>` driven through a pseudo-terminal (`script` from util-linux): raw mode, keys
// go to the VM (Enter as a newline), its output unprefixed, Ctrl-] detaches, the terminal is back in
// cooked mode afterwards, and Ctrl-C (now a signal again) stops the run cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliArgv, ROOT } from './helpers';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const BOARD = `/dts-v1/;
/ {
    compatible = "gunyah-ts,board";
    model = "attach test board";
    #address-cells = <2>;
    #size-cells = <2>;
    cpus {
        #address-cells = <1>;
        #size-cells = <0>;
        cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <0>; };
        cpu@1 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <1>; };
    };
    memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x20000000>; };
    vms {
        other { compatible = "gunyah-ts,vm"; image = "builtin:hello-lite"; memory-size = <0x0 0x1000000>; };
        echo { compatible = "gunyah-ts,vm"; image = "echo.img"; memory-size = <0x0 0x2000000>; };
    };
};
`;

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

test('gunyah run --attach echo: through a pty', { skip: hasScript ? false : 'needs `script` (util-linux) for a pseudo-terminal' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-attach-'));
  try {
    // The guest image is built from tests/fixtures/guests/echo.ts; the board names it by a relative path.
    const build = spawnSync(process.execPath, cliArgv(['image', 'build', join(ROOT, 'tests/fixtures/guests/echo.ts'), '-o', join(dir, 'echo.img')]), { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    writeFileSync(join(dir, 'board.dts'), BOARD);
    // `script -c` runs the command with $SHELL. Ctrl-C goes to the whole foreground group, shell
    // included; a non-interactive dash (Debian's /bin/sh) then kills itself once the child exits,
    // and bash only carries on because the child exits normally. A trap makes every POSIX shell
    // carry on, so the exit status and the terminal state can be read back.
    const cmd = `trap : INT; ${[process.execPath, ...cliArgv(['run', '--attach', 'echo', join(dir, 'board.dts')])].map(sh).join(' ')}; echo "status=$?"; stty -a`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env: { ...process.env, SHELL: '/bin/sh', NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const steps: [RegExp, string][] = [
      [/echo ready\r?\n/, 'hello vm\r'],
      [/HELLO VM\r?\n/, '\x1d'],
      [/detached from echo/, '\x03'],
    ];
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const step = steps[0];
      if (step && step[0].test(out)) {
        steps.shift();
        child.stdin.write(step[1]);
      }
    });
    await done;
    clearTimeout(timer);
    assert.equal(steps.length, 0, `steps left; output:\n${out}`);
    assert.match(out, /attached to echo \(Ctrl-\] to detach\)/);
    // Attached: the VM's lines come unprefixed; the other VM's never interleave with them.
    assert.match(out, /^HELLO VM\r?$/m);
    assert.doesNotMatch(out, /^echo\s+\| HELLO VM/m);
    assert.match(out, /stopped; 2 VMs torn down, memory reclaimed, invariants hold/);
    assert.match(out, /status=130/);
    // The terminal came back in cooked mode with echo on.
    const stty = out.slice(out.indexOf('status=130'));
    assert.match(stty, /(^|\s)icanon(\s|$)/m, stty);
    assert.match(stty, /(^|\s)echo(\s|$)/m, stty);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
