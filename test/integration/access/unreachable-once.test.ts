/**
 * A node that cannot be reached is one fact per command: `/checks` with a node hung (sshd
 * stopped with SIGSTOP) or down (sshd killed) fails once with exit 5 and the SSH error, instead
 * of one failed check per check kind, each waiting out its own connect timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalProcess } from '../../../src/sandbox/processes.js';
import { expectCleanTeardown, gone, phaseStates, startClusterWithOperation, type TestCluster } from '../cluster/helpers.js';

/** How many times `text` occurs in `haystack`. */
function count(haystack: string, text: string): number {
  return haystack.split(text).length - 1;
}

describe('access › an unreachable node is reported once, by /checks too', () => {
  let c: TestCluster;

  beforeAll(async () => {
    ({ cluster: c } = await startClusterWithOperation('127.0.51.2'));
    expect((await c.cli('agent', 'deploy')).code).toBe(0);
    expect((await c.cli('plan', 'execute', '--phase', '/init')).code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    if (c) await expectCleanTeardown(c);
  }, 300_000);

  it('fails /checks with exit 5 within one connect timeout when a node hangs', { timeout: 400_000 }, async () => {
    const node3 = c.node('node-3');
    signalProcess(node3.sshd.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const r = await c.cli('plan', 'execute', '--phase', '/checks');
      const elapsed = Date.now() - started;
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain('error[ERR_SSH_TIMEOUT]: phase "/checks" failed: cannot connect to node-3 (127.0.51.4): no SSH handshake');
      expect(count(r.stderr, 'cannot connect to node-3')).toBe(1);
      expect(r.stderr).not.toContain('ERR_CHECKS_FAILED');
      // Four checks in series, each waiting out the 10 s connect timeout, took 40 s and more;
      // one connect timeout plus the command's own start stays well below that.
      expect(elapsed).toBeLessThan(40_000);
    } finally {
      signalProcess(node3.sshd.pid, 'SIGCONT');
    }
    expect((await phaseStates(c)).get('/checks')).toBe('failed');
  });

  it('fails /checks with exit 5 naming the node when its sshd is down, then passes once it is back', { timeout: 400_000 }, async () => {
    const node3 = c.node('node-3');
    signalProcess(node3.sshd.pid, 'SIGKILL');
    expect(await gone(node3.sshd.pid)).toBe(true);
    const r = await c.cli('plan', 'execute', '--phase', '/checks');
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain(
      'error[ERR_SSH_UNREACHABLE]: phase "/checks" failed: cannot connect to node-3 (127.0.51.4): connection refused',
    );
    expect(count(r.stderr, 'cannot connect to node-3')).toBe(1);

    await c.restartSshd('node-3');
    const again = await c.cli('plan', 'execute', '--phase', '/checks');
    expect(again.code, again.stderr).toBe(0);
    expect((await phaseStates(c)).get('/checks')).toBe('completed');
  });
});
