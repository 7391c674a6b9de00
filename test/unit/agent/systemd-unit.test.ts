import { describe, expect, it } from 'vitest';
import { systemdUnit, UNIT } from '../../../src/agent/systemd-unit.js';

describe('agent › systemd unit', () => {
  const unit = systemdUnit('/var/lib/hoist/agent/node /var/lib/hoist/agent/hoist-agent.mjs --state-dir /var/lib/hoist');
  const section = (name: string) => unit.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';

  it('is named hoist-agent.service', () => {
    expect(UNIT).toBe('hoist-agent.service');
  });

  it('starts the agent with the given command and restarts it when it fails', () => {
    expect(section('Service')).toContain(
      '\nExecStart=/var/lib/hoist/agent/node /var/lib/hoist/agent/hoist-agent.mjs --state-dir /var/lib/hoist\n',
    );
    expect(section('Service')).toContain('\nRestart=on-failure\n');
    expect(section('Install')).toContain('\nWantedBy=multi-user.target\n');
  });

  it('stops only the agent, not the runtime services its hooks started', () => {
    expect(section('Service')).toContain('\nKillMode=process\n');
  });

  it('has one key per line and ends with a newline', () => {
    expect(unit.endsWith('\n')).toBe(true);
    for (const line of unit.trimEnd().split('\n')) expect(line).toMatch(/^(\[(Unit|Service|Install)\]|[A-Za-z]+=.+)$/);
  });
});
