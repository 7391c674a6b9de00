/** One real process: the bin shim, the built CLI and the exit code, as a user runs them. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

describe('bin/hoist', () => {
  it('prints the demo plan with --dry-run and exits 0', async () => {
    const r = await execa(
      './bin/hoist',
      ['upgrade', '--dry-run', '--state', 'fixtures/clusters/demo-3-masters/state.yaml', 'fixtures/images/upgrade-demo-2.0.0'],
      {
        env: { HOIST_STATE_DIR: mkdtempSync(join(tmpdir(), 'hoist-smoke-')) },
        reject: false,
      },
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(62);
    expect(r.stdout).toContain('* gc                          Run cleanup tasks');
  });

  it('exits 3 on a missing state file and names it', async () => {
    const r = await execa('./bin/hoist', ['upgrade', '--dry-run', '--state', 'nope.yaml', 'fixtures/images/upgrade-demo-2.0.0'], {
      reject: false,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('nope.yaml');
  });

  it('runs a JSON-store command that reaches no node from the one-file bundle without loading etcd3 or ssh2', async () => {
    // The bundle is what bin/hoist loads; etcd3's gRPC stack must wait until an etcd store is
    // chosen, ssh2 and its native binding until a node is reached.
    const script = [
      "import { createRequire } from 'node:module';",
      "const loaded = () => Object.keys(createRequire(import.meta.url)('node:module')._cache);",
      "const { main } = await import('./dist/hoist.mjs');",
      "const code = await main(['node', 'hoist', 'upgrade', '--dry-run', '--state', 'fixtures/clusters/demo-3-masters/state.yaml', 'fixtures/images/upgrade-demo-2.0.0']);",
      'const count = (name) => loaded().filter((m) => m.includes("/" + name + "/")).length;',
      'const seen = { code, etcd3: count("etcd3"), ssh2: count("ssh2") };',
      // The probe itself must see a module once it is loaded, or the zeros above prove nothing.
      "createRequire(import.meta.url)('ssh2');",
      'process.stderr.write(JSON.stringify({ ...seen, ssh2Probe: count("ssh2") }));',
    ].join('\n');
    const r = await execa('node', ['--input-type=module', '-e', script], {
      env: { HOIST_STATE_DIR: mkdtempSync(join(tmpdir(), 'hoist-smoke-')) },
      reject: false,
    });
    const seen = JSON.parse(r.stderr.split('\n').at(-1) ?? '{}') as { code: number; etcd3: number; ssh2: number; ssh2Probe: number };
    expect(seen.code).toBe(0);
    expect(seen.etcd3).toBe(0);
    expect(seen.ssh2).toBe(0);
    expect(seen.ssh2Probe).toBeGreaterThan(0);
  });

  it('prints a stack trace that names the source files with --debug', async () => {
    const r = await execa(
      './bin/hoist',
      ['--debug', 'upgrade', '--dry-run', '--state', 'nope.yaml', 'fixtures/images/upgrade-demo-2.0.0'],
      {
        reject: false,
      },
    );
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/src\/[a-z/-]+\.ts:\d+/);
  });
});
