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
});
