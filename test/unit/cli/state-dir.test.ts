import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

it("refuses --state-dir '' as a usage error instead of using the working directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hoist-state-dir-'));
  try {
    const r = await runCli(['--state-dir', '', 'sandbox', 'status'], { stateDir: dir, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[ERR_USAGE_STATE_DIR]: the state directory is empty');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
