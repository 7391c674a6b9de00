import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { sudoRefusal, sudoRefusedError } from '../../../src/ssh/sudo.js';

describe('ssh › sudo refusals', () => {
  it('recognises sudo asking for a password, a missing sudoers entry and a missing sudo', () => {
    expect(sudoRefusal({ exitCode: 1, stderr: 'sudo: a password is required\n' })).toBe('sudo asks for a password');
    expect(sudoRefusal({ exitCode: 1, stderr: 'ops is not in the sudoers file.  This incident will be reported.\n' })).toBe(
      'sudo does not allow it',
    );
    expect(sudoRefusal({ exitCode: 1, stderr: "Sorry, user ops is not allowed to execute '/bin/sh -c true' as root on n1.\n" })).toBe(
      'sudo does not allow it',
    );
    expect(sudoRefusal({ exitCode: 127, stderr: 'sh: 1: sudo: not found\n' })).toBe('sudo is not installed');
    expect(sudoRefusal({ exitCode: 127, stderr: 'bash: sudo: command not found\n' })).toBe('sudo is not installed');
  });

  it('leaves failures of the command itself alone', () => {
    expect(sudoRefusal({ exitCode: 1, stderr: 'mkdir: cannot create directory: Permission denied\n' })).toBeUndefined();
    expect(sudoRefusal({ exitCode: 2, stderr: 'sudo: a password is required\n' })).toBeUndefined();
    expect(sudoRefusal({ exitCode: 127, stderr: 'sh: 1: kubectl: not found\n' })).toBeUndefined();
    expect(sudoRefusal({ exitCode: 0, stderr: '' })).toBeUndefined();
  });

  it('names node, user and the command that needed root, with exit 5', () => {
    const err = sudoRefusedError('node-2', 'ops', 'mkdir -p /var/lib/hoist/agent', 'sudo asks for a password');
    expect(err.code).toBe('ERR_SSH_SUDO');
    expect(err.exitCode).toBe(ExitCode.unreachable);
    expect(err.node).toBe('node-2');
    expect(err.message).toBe(
      'ops on node-2 cannot run commands as root: sudo asks for a password (sudo -n, needed for: mkdir -p /var/lib/hoist/agent)',
    );
    expect(err.hint).toContain('"ops ALL=(root) NOPASSWD: ALL"');
  });
});
