/**
 * The systemd unit the agent runs under where systemd is the init system (architecture §6).
 * Elsewhere (this sandbox, containers) the agent runs as a detached process with a pid file.
 */

/** Name of the unit file in /etc/systemd/system. */
export const UNIT = 'hoist-agent.service';

/** The unit for `command` (already shell-quoted words: systemd splits ExecStart like a shell). */
export function systemdUnit(command: string): string {
  return [
    '[Unit]',
    'Description=hoist agent',
    // Hooks and kubectl calls reach other nodes; starting before the network would fail them.
    'After=network-online.target',
    'Wants=network-online.target',
    '[Service]',
    'Type=simple',
    `ExecStart=${command}`,
    // Only the agent itself is stopped with the unit: hooks it started (runtime services) live on.
    'KillMode=process',
    'Restart=on-failure',
    'RestartSec=2',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
