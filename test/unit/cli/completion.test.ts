import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

const stateDir = mkdtempSync(join(tmpdir(), 'hoist-completion-'));

/** What bash offers for `words` (the last one being completed) with the generated script loaded. */
function complete(script: string, words: string[]): string[] {
  const program = `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_hoist; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('cli › completion', () => {
  it('bash: completes commands, subcommands and the options of the command typed so far', async () => {
    const r = await runCli(['completion', 'bash'], { stateDir });
    expect(r.code).toBe(0);
    expect(complete(r.stdout, ['hoist', 'pl'])).toEqual(['plan']);
    expect(complete(r.stdout, ['hoist', 'plan', ''])).toEqual(['execute', 'rollback', 'cancel', 'resume', 'set', 'complete']);
    expect(complete(r.stdout, ['hoist', '-c', 'x.yaml', 'plan', 'execute', '--ph'])).toEqual(['--phase']);
    expect(complete(r.stdout, ['hoist', 'plan', 'set', '--re'])).toEqual(['--reason']);
    // Global options are offered everywhere; hidden commands (plan display) are not.
    expect(complete(r.stdout, ['hoist', 'status', '--state-'])).toEqual(['--state-dir']);
    expect(complete(r.stdout, ['hoist', 'plan', 'di'])).toEqual([]);
  });

  it('zsh loads the bash script through bashcompinit; fish gets its own complete lines', async () => {
    const zsh = await runCli(['completion', 'zsh'], { stateDir });
    expect(zsh.stdout.startsWith('autoload -U +X bashcompinit && bashcompinit\n')).toBe(true);
    expect(zsh.stdout).toContain('complete -o default -F _hoist hoist');
    const fish = await runCli(['completion', 'fish'], { stateDir });
    expect(fish.stdout).toContain("complete -c hoist -n '__fish_seen_subcommand_from plan; and __fish_seen_subcommand_from set' -l reason");
    expect(fish.stdout).toMatch(/^complete -c hoist -n 'not __fish_seen_subcommand_from upgrade plan .*' -a 'upgrade plan /m);
    const bad = await runCli(['completion', 'powershell'], { stateDir });
    expect(bad.code).toBe(2);
  });
});
