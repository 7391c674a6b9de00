/**
 * Nothing given to hoist can make it wait forever: a FIFO (or device) in place of any input file
 * is refused at once, Ctrl-C during input loading exits 130, and a reader that goes away
 * (`| head -1`) ends the run quietly.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDS, errorLine, hasStack, REPO, runHoist, scratch, snapshot } from './hostile.js';

describe('hostile inputs: hangs and interrupts', () => {
  let root: string;
  let before: Record<string, string>;
  const fifo = (name: string): string => path.join(root, name);

  beforeAll(async () => {
    root = await scratch('hangs');
    for (const name of ['cluster.yaml', 'state.yaml', 'app.yaml', 'image.tar.gz']) execFileSync('mkfifo', [fifo(name)]);
    // An image source whose package manifest is a FIFO.
    const src = path.join(root, 'src');
    await fs.cp(path.join(REPO, 'fixtures', 'images', 'upgrade-demo-2.0.0'), src, { recursive: true });
    const pkg = (await fs.readdir(path.join(src, 'packages')))[0]!;
    await fs.rm(path.join(src, 'packages', pkg, 'package.yaml'));
    execFileSync('mkfifo', [path.join(src, 'packages', pkg, 'package.yaml')]);
    before = await snapshot(root);
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const cases: [string, () => string[], RegExp][] = [
    [
      'cluster.yaml',
      () => ['-c', fifo('cluster.yaml'), 'status'],
      /cluster\.yaml: inventory is a named pipe \(FIFO\); only regular files are read/m,
    ],
    [
      '--state',
      () => ['--state', fifo('state.yaml'), 'upgrade', '--dry-run', path.join(REPO, 'fixtures/images/upgrade-demo-2.0.0')],
      /state\.yaml: cluster state is a named pipe/,
    ],
    [
      'a bare app.yaml',
      () => ['--state', path.join(REPO, 'fixtures/clusters/single-master/state.yaml'), 'upgrade', '--dry-run', fifo('app.yaml')],
      /app\.yaml: image manifest is a named pipe/,
    ],
    ['an image archive', () => ['image', 'inspect', fifo('image.tar.gz')], /image\.tar\.gz: archive is a named pipe/],
    ['/dev/zero as inventory', () => ['-c', '/dev/zero', 'status'], /\/dev\/zero: inventory is a device/],
    [
      'a package.yaml',
      () => ['image', 'build', path.join(root, 'src'), '--out', path.join(root, 'out.tar.gz')],
      /package\.yaml: package manifest is a named pipe/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses a FIFO or device as ${what} at once (exit 3)`, async () => {
      const run = await runHoist(args(), { cwd: root, killAfterMs: 60_000 });
      expect(run.signal, 'hoist hung on the FIFO').toBeNull();
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(message);
      expect(hasStack(run.stderr)).toBe(false);
      expect(run.ms).toBeLessThan(BOUNDS.ms);
      expect(run.peakRssMb).toBeLessThan(BOUNDS.rssMb);
      expect(await snapshot(root)).toEqual(before);
    });
  }

  it('exits 130 on Ctrl-C during a long input parse', async () => {
    const dir = await scratch('hangs-sigint');
    try {
      // A valid but long inventory: tens of thousands of labels keep the parser busy for a while.
      const labels = Array.from({ length: 32_000 }, (_, i) => `      l${i}: v`).join('\n');
      const yaml = `apiVersion: hoist/v1\nkind: Cluster\nmetadata: {name: big}\nspec:\n  nodes:\n  - name: n1\n    address: 127.0.40.250\n    role: master\n    labels:\n${labels}\n`;
      await fs.writeFile(path.join(dir, 'cluster.yaml'), yaml);
      // Start-up alone (to the point where the input is read) costs about what `--version` costs;
      // the parse then takes over a second of CPU more. Ctrl-C comes 300 ms of CPU into the parse.
      const startup = await runHoist(['--version'], { cwd: dir });
      const run = await runHoist(['-c', 'cluster.yaml', 'plan'], {
        cwd: dir,
        signals: [{ signal: 'SIGINT', afterMs: 0 }],
        whenCpuMs: startup.cpuMs + 300,
        killAfterMs: 60_000,
      });
      expect(run.signal).toBeNull();
      expect(run.code, run.stderr).toBe(130);
      expect(errorLine(run)).toBe('error[ERR_INTERRUPTED]: interrupted');
      expect(hasStack(run.stderr)).toBe(false);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('ends quietly when the reader of stdout goes away (| head -1)', async () => {
    const run = await runHoist(['image', 'inspect', path.join(REPO, 'fixtures/images/upgrade-demo-2.0.0')], {
      cwd: root,
      closeStdout: true,
    });
    expect([0, 141]).toContain(run.code);
    expect(run.stderr).toBe('');
  });
});
