import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { relayCommand } from '../../../src/ssh/ssh-socket.js';
import { RemoteCommandError, shellQuote, withSudo } from '../../../src/ssh/transport.js';

describe('ssh › transport helpers', () => {
  it('quotes shell words only when needed', () => {
    expect(shellQuote('/var/lib/hoist/agent.sock')).toBe('/var/lib/hoist/agent.sock');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(shellQuote('')).toBe(`''`);
  });

  it('prefixes sudo -n only for non-root users that ask for it', () => {
    expect(withSudo('systemctl stop x', 'root', true)).toBe('systemctl stop x');
    expect(withSudo('systemctl stop x', 'deploy', false)).toBe('systemctl stop x');
    expect(withSudo('systemctl stop x', 'deploy', undefined)).toBe('systemctl stop x');
    expect(withSudo("echo 'a' && id -u", 'deploy', true)).toBe(`sudo -n sh -c 'echo '\\''a'\\'' && id -u'`);
  });

  it('reports a failed command with its exit code and the tail of stderr', () => {
    const stderr = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`).join('\n');
    const err = new RemoteCommandError('node-2', 'false', { exitCode: 3, stdout: '', stderr });
    expect(err.code).toBe('ERR_REMOTE_COMMAND');
    expect(err.exitCode).toBe(ExitCode.unexpected);
    expect(err.message).toBe('command failed on node-2 (exit code 3): false');
    expect(err.details).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 6}`));
    expect(err.node).toBe('node-2');
  });

  it('builds a relay command that tries node, python3, then socat', () => {
    const cmd = relayCommand('/var/lib/hoist/agent.sock');
    const order = ['command -v node', 'command -v python3', 'command -v socat'].map((s) => cmd.indexOf(s));
    expect(order.every((pos) => pos >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('runs the relay with the given Node.js runtime first, when it is there', () => {
    const cmd = relayCommand('/var/lib/hoist/agent.sock', '/var/lib/hoist/agent/node');
    expect(cmd.split('\n')[1]).toMatch(/^if \[ -x \/var\/lib\/hoist\/agent\/node \]; then exec \/var\/lib\/hoist\/agent\/node -e /);
    expect(cmd.indexOf('command -v node')).toBeGreaterThan(0);
  });

  it('starts no relay program for a socket that is not there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hoist-relay-'));
    const marker = path.join(dir, 'started');
    const runtime = path.join(dir, 'node');
    await writeFile(runtime, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const run = spawnSync('sh', ['-c', relayCommand(path.join(dir, 'agent.sock'), runtime)], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`no socket at ${dir}/agent.sock`);
    expect(existsSync(marker)).toBe(false);
  });
});
