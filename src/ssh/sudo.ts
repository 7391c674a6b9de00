/**
 * Telling sudo's own refusal apart from a failure of the command it runs. hoist always calls
 * `sudo -n`: without password-less sudo the command fails at once with sudo's message, where a
 * prompt would hang an unattended upgrade. That refusal is an access problem of the node (exit 5),
 * not a failed command, and the operator needs to see which node and which command needed root.
 */
import { UnreachableError } from '../errors.js';
import { abbreviate, type ExecResult } from './transport.js';

// sudo exits 1 with one of these; a shell without sudo exits 127 with "sudo: not found".
const REFUSALS: [RegExp, string][] = [
  [/^sudo: (a password is required|a terminal is required)/m, 'sudo asks for a password'],
  [/is not in the sudoers file|may not run sudo on|is not allowed to execute/, 'sudo does not allow it'],
  [/(^|: )sudo: (command )?not found$/m, 'sudo is not installed'],
];

/** Why sudo refused to run the command, or undefined when sudo ran it (whatever its outcome). */
export function sudoRefusal(result: Pick<ExecResult, 'exitCode' | 'stderr'>): string | undefined {
  if (result.exitCode !== 1 && result.exitCode !== 127) return undefined;
  for (const [pattern, reason] of REFUSALS) if (pattern.test(result.stderr)) return reason;
  return undefined;
}

/** The error for a command that needed root on `node` and could not get it without a password. */
export function sudoRefusedError(node: string, user: string, cmd: string, reason: string): UnreachableError {
  return new UnreachableError(
    'ERR_SSH_SUDO',
    `${user} on ${node} cannot run commands as root: ${reason} (sudo -n, needed for: ${abbreviate(cmd, 80)})`,
    {
      node,
      hint: `give ${user} password-less sudo on ${node} (a line "${user} ALL=(root) NOPASSWD: ALL" in /etc/sudoers.d/), or log in as root (spec.ssh.user)`,
    },
  );
}
