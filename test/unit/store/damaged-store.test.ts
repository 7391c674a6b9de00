/**
 * A damaged state directory, generated here from a real operation: each damage is refused with a
 * store error (exit 4) naming the file and what is wrong, and the state directory is left as it was.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { runCli } from '../../helpers/run-cli.js';

const CLUSTER = 'clusters/upgrade-demo';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A digest of every record under `dir`, to show that a refusal changed nothing. The lease (`lock`)
 * and the debug log are left out: a writing command takes the lease and logs its error before it
 * reads the operation, which is bookkeeping, not state.
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const file = join(dir, name);
    if (basename(file) === 'lock' || basename(file) === 'log.ndjson' || !statSync(file).isFile()) continue;
    out[name] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

async function damaged(damage: (paths: { stateDir: string; opDir: string; id: string }) => void) {
  const { stateDir, store, id } = await demoOperation();
  await store.close();
  dirs.push(stateDir);
  const opDir = join(stateDir, CLUSTER, 'operations', id);
  damage({ stateDir, opDir, id });
  return { stateDir, opDir, id, before: snapshot(stateDir) };
}

describe('store › a damaged state directory', () => {
  it('refuses a plan.json with a duplicate phase id, naming the file and the phase', { timeout: 60_000 }, async () => {
    const { stateDir, opDir, before } = await damaged(({ opDir }) => {
      const file = join(opDir, 'plan.json');
      const plan = JSON.parse(readFileSync(file, 'utf8')) as { phases: unknown[] };
      plan.phases.push(plan.phases[0]);
      writeFileSync(file, JSON.stringify(plan));
    });
    for (const args of [['plan'], ['plan', 'complete']]) {
      const r = await runCli([...args, '--state', DEMO_STATE], { stateDir });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(
        `error[ERR_STORE_CORRUPT]: store file ${join(opDir, 'plan.json')} is not a valid plan: phase id "/init" appears twice`,
      );
      expect(r.stderr).not.toContain('bug in');
      expect(snapshot(stateDir)).toEqual(before);
    }
  });

  it('refuses a changelog line naming a phase that is not in the plan, and plan complete does not close the operation', {
    timeout: 60_000,
  }, async () => {
    const { stateDir, opDir, before } = await damaged(({ opDir }) => {
      const at = new Date().toISOString();
      appendFileSync(join(opDir, 'changelog.ndjson'), `${JSON.stringify({ seq: 1, phase: '/init/node-9', state: 'completed', at })}\n`);
    });
    for (const args of [['plan'], ['plan', 'complete'], ['status']]) {
      const r = await runCli([...args, '--state', DEMO_STATE], { stateDir });
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toContain(
        `error[ERR_STORE_CORRUPT]: store file ${join(opDir, 'changelog.ndjson')} line 1 names phase "/init/node-9", which is not in the operation's plan`,
      );
      expect(snapshot(stateDir)).toEqual(before);
    }
    expect(JSON.parse(readFileSync(join(opDir, 'operation.json'), 'utf8')).state).toBe('in_progress');
  });

  it.each(['activeOperation', 'lastOperation'])('refuses a traversal-shaped %s in cluster.json', { timeout: 60_000 }, async (field) => {
    const file = (stateDir: string) => join(stateDir, CLUSTER, 'cluster.json');
    const { stateDir, before } = await damaged(({ stateDir }) => {
      const record = JSON.parse(readFileSync(file(stateDir), 'utf8')) as Record<string, unknown>;
      record[field] = '../../../x';
      writeFileSync(file(stateDir), JSON.stringify(record));
    });
    const r = await runCli(['plan', '--state', DEMO_STATE], { stateDir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`error[ERR_STORE_CORRUPT]: store file ${file(stateDir)} does not match its schema`);
    expect(r.stderr).toContain(`${field}: not a usable name`);
    expect(snapshot(stateDir)).toEqual(before);
  });

  it('refuses a traversal-shaped id in operation.json', { timeout: 60_000 }, async () => {
    const { stateDir, opDir, before } = await damaged(({ opDir }) => {
      const file = join(opDir, 'operation.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/"id": "[^"]+"/, '"id": "../x"'));
    });
    const r = await runCli(['plan', '--state', DEMO_STATE], { stateDir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`store file ${join(opDir, 'operation.json')} does not match its schema`);
    expect(r.stderr).toContain('id: not a usable name');
    expect(snapshot(stateDir)).toEqual(before);
  });

  it('a corrupt lock file is refused with a hint that says how to clear it', { timeout: 60_000 }, async () => {
    const lock = (stateDir: string) => join(stateDir, CLUSTER, 'lock');
    const { stateDir, before } = await damaged(({ stateDir }) => writeFileSync(lock(stateDir), '{"pid": "\u0000garbage'));
    const r = await runCli(['plan', 'complete', '--state', DEMO_STATE], { stateDir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`error[ERR_STORE_CORRUPT]: store file ${lock(stateDir)} is not valid JSON`);
    expect(r.stderr).not.toContain('garbage');
    expect(r.stderr).toContain(`hint: make sure no hoist command is running for this cluster`);
    expect(r.stderr).toContain(`then remove ${lock(stateDir)}`);
    expect(snapshot(stateDir)).toEqual(before);
  });
});

describe('store › the state directory is checked up front', () => {
  const scratch = () => {
    const d = mkdtempSync(join(tmpdir(), 'hoist-statedir-'));
    dirs.push(d);
    return d;
  };

  it('refuses a state dir that is a file, or lies under one, and changes nothing', { timeout: 30_000 }, async () => {
    const d = scratch();
    const file = join(d, 'state');
    writeFileSync(file, 'not a directory');
    const r = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, 'fixtures/images/upgrade-demo-2.0.0'], { stateDir: file });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`error[ERR_STORE_STATE_DIR]: state directory ${file} is not a directory`);
    const under = await runCli(['plan', '--state', DEMO_STATE], { stateDir: join(file, 'sub') });
    expect(under.code).toBe(4);
    expect(under.stderr).toContain(
      `error[ERR_STORE_STATE_DIR]: state directory ${join(file, 'sub')} lies under a path that is not a directory`,
    );
    expect(readdirSync(d)).toEqual(['state']);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  it.skipIf(process.getuid?.() === 0)('refuses a read-only state dir', { timeout: 30_000 }, async () => {
    const d = scratch();
    chmodSync(d, 0o555);
    try {
      const r = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, 'fixtures/images/upgrade-demo-2.0.0'], { stateDir: d });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`error[ERR_STORE_STATE_DIR]: state directory ${d} is not writable by this user`);
      expect(readdirSync(d)).toEqual([]);
    } finally {
      chmodSync(d, 0o755);
    }
  });

  it('creates a missing state dir under a writable parent', { timeout: 30_000 }, async () => {
    const d = join(scratch(), 'a', 'b');
    const r = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, 'fixtures/images/upgrade-demo-2.0.0'], { stateDir: d });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(d)).toEqual(['clusters']);
  });
});
