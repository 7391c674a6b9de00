/**
 * On a real sandbox: `hoist status` and `hoist upgrade --dry-run` read the nodes live before any
 * operation (through one-off agent runs that leave nothing on the nodes), a node whose runtime service was killed shows as
 * degraded there and stops `hoist upgrade` (exit 4, naming the node and the probe), and
 * `upgrade --force` goes on and records the override in the operation; `status history` lists
 * the transition and the forced start. `hoist report` with one node down collects the others
 * (agent log, execution records, etcd state and etcdctl's endpoint status, runtime logs within
 * --since, kubectl's view and describe of a cordoned node and a failed hook Job), notes the one
 * down in its index, and carries no secret planted in a log.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import { processes } from '../ssh/helpers.js';

interface StatusJson {
  installedVersion: string;
  activeOperation: { id: string; warnings?: string[] } | null;
  lastOperation: unknown;
  note?: string;
  health: { state: string; failures: { node: string; probe: string; message: string }[] };
  nodes: {
    name: string;
    role: string;
    agent: { state: string };
    runtime: { version: string; health: string };
    kube: { ready: boolean } | null;
    image: string;
    healthy: boolean;
  }[];
}

describe('operator view › status reads the nodes, the health gate refuses a degraded one', () => {
  let sb: Sandbox;
  const nodeDir = (name: string): string => join(sb.dir, 'nodes', name, 'var', 'lib', 'hoist');
  const status = async (): Promise<StatusJson> => {
    const r = await sb.hoist(['status', '-o', 'json']);
    expectExit(r, 0, 'status -o json');
    return JSON.parse(r.stdout) as StatusJson;
  };

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.120.2' });
  }, 300_000);

  afterAll(async () => {
    await sb?.down();
  });

  it('shows every node before any operation and leaves nothing on them', { timeout: 120_000 }, async () => {
    const text = await sb.hoist(['status']);
    expectExit(text, 0, 'status');
    expect(text.stdout).toContain('Cluster health:         healthy');
    expect(text.stdout).toContain('no operation has run on this cluster');
    expect(text.stdout).toMatch(/node-2\s+127\.0\.120\.3\s+master\s+not running\s+7\.0\.35-11706\s+healthy\s+Ready\s+-\s+1\.0\.0/);

    const doc = await status();
    expect(doc.health.failures).toEqual([]);
    expect(doc).toMatchObject({ installedVersion: '1.0.0', activeOperation: null, lastOperation: null, health: { state: 'healthy' } });
    expect(doc.nodes.map((n) => [n.name, n.agent.state, n.runtime.health, n.kube?.ready, n.image])).toEqual([
      ['node-1', 'none', 'healthy', true, '1.0.0'],
      ['node-2', 'none', 'healthy', true, '1.0.0'],
      ['node-3', 'none', 'healthy', true, '1.0.0'],
    ]);
    // A dry run reads the same live nodes read-only and prints the plan it would run.
    const dry = await sb.hoist(['upgrade', IMAGE_2, '--dry-run', '-o', 'json']);
    expectExit(dry, 0, 'upgrade --dry-run without --state');
    const planned = JSON.parse(dry.stdout) as { operation: { state: string; from: string }; phases: { id: string; does?: string }[] };
    expect(planned.operation).toMatchObject({ state: 'planned', from: '1.0.0', to: '2.0.0' });
    expect(planned.phases.map((p) => p.id)).toContain('/masters');
    expect(planned.phases.find((p) => p.id === '/checks')?.does).toBeTruthy();
    const dryText = await sb.hoist(['upgrade', IMAGE_2, '--dry-run']);
    expectExit(dryText, 0, 'upgrade --dry-run (text)');
    expect(dryText.stdout).toMatch(/^\* masters\s/m);
    expect(existsSync(join(sb.stateDir, 'clusters', 'upgrade-demo', 'operations'))).toBe(false);
    // The one-off runs removed their bundles, and no agent was started or installed.
    expect(readdirSync('/tmp').filter((f) => f.startsWith('hoist-once.'))).toEqual([]);
    for (const n of sb.nodes) expect(existsSync(join(nodeDir(n.name), 'agent', 'hoist-agent.mjs')), n.name).toBe(false);
    expect((await processes()).filter((p) => p.cmdline.includes(sb.stateDir) && p.cmdline.includes('hoist-agent'))).toEqual([]);
  });

  it('a stopped runtime shows as degraded and refuses the upgrade; --force records the override', { timeout: 300_000 }, async () => {
    const pid = Number(readFileSync(join(nodeDir('node-2'), 'runtime', 'service.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');

    const doc = await status();
    expect(doc.health.state).toBe('degraded');
    expect(doc.health.failures.map((f) => [f.node, f.probe])).toEqual([['node-2', 'runtime-health']]);
    expect(doc.nodes.find((n) => n.name === 'node-2')).toMatchObject({ healthy: false, runtime: { health: 'unhealthy' } });
    const text = await sb.hoist(['status']);
    expect(text.stdout).toContain('Cluster health:         degraded (node-2: runtime-health)');
    expect(text.stdout).toContain('[node-2] runtime-health: ');

    const refused = await sb.hoist(['upgrade', '--manual', IMAGE_2]);
    expectExit(refused, 4, 'upgrade of a degraded cluster');
    expect(refused.stderr).toContain(
      'error[ERR_CLUSTER_DEGRADED]: upgrade is prohibited because some cluster nodes are currently degraded: node-2 (runtime-health)',
    );
    expect(refused.stderr).toContain('--force');
    const after = await status();
    expect(after.activeOperation).toBeNull();
    expect(after.lastOperation).toBeNull();

    const forced = await sb.hoist(['upgrade', '--manual', '--force', IMAGE_2]);
    expectExit(forced, 0, 'upgrade --force');
    expect(forced.stderr).toContain('warning: upgrade forced past a degraded node: node-2: runtime-health: ');
    // The first upgrade (no cluster record yet) says what it upgrades from before the agents come up, once.
    const announced = forced.stderr.indexOf('Upgrading cluster from 1.0.0 to 2.0.0');
    expect(announced, forced.stderr).toBeGreaterThan(-1);
    expect(announced, forced.stderr).toBeLessThan(forced.stderr.indexOf('Deployed agent on node-1'));
    expect(forced.stderr.split('Upgrading cluster from')).toHaveLength(2);
    const active = (await status()).activeOperation!;
    expect(active.warnings).toHaveLength(1);
    expect(active.warnings![0]).toContain('node-2: runtime-health');
    const stored = JSON.parse(
      readFileSync(join(sb.stateDir, 'clusters', 'upgrade-demo', 'operations', active.id, 'operation.json'), 'utf8'),
    );
    expect(stored.warnings).toEqual(active.warnings);

    // The history saw the node go degraded once (status and the gate agree), then the forced start.
    const history = await sb.hoist(['status', 'history']);
    expectExit(history, 0, 'status history');
    expect(history.stdout).toMatch(/\[Node Degraded\] node=node-2 probe=runtime-health "runtime hook health failed: /);
    const events = JSON.parse((await sb.hoist(['status', 'history', '-o', 'json'])).stdout) as {
      events: { type: string; operation?: string }[];
    };
    expect(events.events.map((e) => e.type)).toEqual(['node.degraded', 'operation.started', 'override']);
    expect(events.events[2]!.operation).toBe(active.id);
  });

  it("hoist report with node-3 down holds the other nodes' agent logs and etcd state, notes node-3, and no planted secret", {
    timeout: 300_000,
  }, async () => {
    // Secrets that a log line or a service happened to print.
    const now = Date.now();
    appendFileSync(
      join(nodeDir('node-1'), 'agent', 'agent.log'),
      `{"level":30,"time":${now},"msg":"connecting with password=planted-agent-secret"}\n`,
    );
    // A line stamped before --since is left out of the runtime log; the unstamped lines after a
    // fresh one stay with it (and are redacted).
    const stamp = (ms: number) => new Date(ms).toISOString();
    appendFileSync(
      join(nodeDir('node-2'), 'runtime', 'service.log'),
      `${stamp(now - 3 * 3600_000)} planted-old-line\n${stamp(now)} api_token: planted-runtime-secret\n-----BEGIN RSA PRIVATE KEY-----\nplanted-key-body\n-----END RSA PRIVATE KEY-----\n`,
    );
    // Failing objects for kubectl describe: a cordoned node, and a hook Job that failed (and its pod).
    expectExit(await sb.kubectl(['cordon', 'node-2']), 0, 'kubectl cordon node-2');
    const job = join(sb.stateDir, 'failing-job.yaml');
    writeFileSync(job, FAILING_JOB);
    expectExit(await sb.kubectl(['apply', '--validate=false', '-f', job]), 0, 'kubectl apply of a failing Job');
    while ((await sb.kubectl(['get', 'job', '-n', 'kube-system', 'pre-update', '-o', 'jsonpath={.status.failed}'])).stdout !== '1') {
      await new Promise((r) => setTimeout(r, 200));
    }
    expectExit(await sb.hoist(['sandbox', 'stop-node', 'node-3']), 0, 'sandbox stop-node node-3');

    const file = join(sb.stateDir, 'report.tar.gz');
    const run = await sb.hoist(['report', '--file', file, '--since', '1h']);
    expectExit(run, 0, 'hoist report with a node down');
    expect(run.stderr).toMatch(/node-3: unreachable: .* \(noted in index\.json\)/);

    const out = mkdtempSync(join(tmpdir(), 'hoist-report-'));
    await x({ file, cwd: out });
    const files = listFiles(out);
    for (const node of ['node-1', 'node-2']) {
      expect(files, node).toContain(`nodes/${node}/agent/agent.log`);
      expect(files, node).toContain(`nodes/${node}/etcd/state.json`);
      expect(files, node).toContain(`nodes/${node}/packages/index.json`);
      expect(files, node).toContain(`nodes/${node}/runtime/service.log`);
      expect(JSON.parse(readFileSync(join(out, 'nodes', node, 'runtime-health.json'), 'utf8'))).toMatchObject({
        healthy: expect.any(Boolean),
      });
    }
    expect(files.some((f) => f.startsWith('nodes/node-1/agent/executions/'))).toBe(true);
    expect(files.filter((f) => f.startsWith('nodes/node-3/'))).toEqual([]);
    expect(readFileSync(join(out, 'nodes', 'node-1', 'kube', 'get-nodes.txt'), 'utf8')).toMatch(/^node-2\s+Ready/m);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { nodes: { name: string; state: string; error?: string }[] };
    expect(index.nodes.map((n) => [n.name, n.state])).toEqual([
      ['node-1', 'collected'],
      ['node-2', 'collected'],
      ['node-3', 'unreachable'],
    ]);
    expect(index.nodes[2]!.error).toBeTruthy();
    // Each node's part stays within its bound (640 KiB), and nothing planted got through.
    for (const node of ['node-1', 'node-2']) {
      const bytes = files.filter((f) => f.startsWith(`nodes/${node}/`)).reduce((sum, f) => sum + statSync(join(out, f)).size, 0);
      expect(bytes, node).toBeLessThanOrEqual(640 * 1024);
    }
    // etcdctl's endpoint status and health of every member, as each master's runtime sees them.
    for (const node of ['node-1', 'node-2']) {
      const etcd = readFileSync(join(out, 'nodes', node, 'etcd', 'endpoint-status.txt'), 'utf8');
      expect(etcd, node).toContain('endpoint status -w table\n');
      expect(etcd, node).toMatch(/\|\s+ENDPOINT\s+\|\s+ID\s+\|\s+VERSION\s+\|.*IS LEADER/);
      expect(etcd, node).toMatch(/\| http:\/\/127\.0\.120\.2:2379 \| [0-9a-f]+ \|\s+3\.4\.23 \|/);
      expect(etcd, node).toContain('Failed to get the status of endpoint http://127.0.120.4:2379');
      expect(etcd, node).toMatch(/\| http:\/\/127\.0\.120\.3:2379 \|\s+true \|/);
      expect(etcd, node).toMatch(/\| http:\/\/127\.0\.120\.4:2379 \|\s+false \|/);
    }
    const service = readFileSync(join(out, 'nodes', 'node-2', 'runtime', 'service.log'), 'utf8');
    expect(service.split('\n')[0]).toMatch(
      /^# hoist report: \S+\/runtime\/service\.log: lines stamped \S+ or later \(and the unstamped lines that follow them\): 1 of \d+ lines left out$/,
    );
    expect(service).not.toContain('planted-old-line');
    expect(service).toContain('api_token: [REDACTED]\n-----BEGIN RSA PRIVATE KEY----- [REDACTED]');
    // kubectl describe of the failing objects, picked by kind.
    const kube = (name: string) => readFileSync(join(out, 'nodes', 'node-1', 'kube', name), 'utf8');
    expect(kube('describe-failing-nodes.txt')).toMatch(
      /^# nodes NotReady or unschedulable: node-2 \(unschedulable\)\n\$ kubectl describe nodes node-2\nName:\s+node-2\n/,
    );
    expect(kube('describe-failing-nodes.txt')).toMatch(/^Unschedulable:\s+true$/m);
    expect(kube('describe-failing-jobs.txt')).toMatch(
      /^# Jobs that failed: kube-system\/pre-update \(Failed: BackoffLimitExceeded\)\n\$ kubectl describe jobs -n kube-system pre-update\n/,
    );
    expect(kube('describe-failing-jobs.txt')).toMatch(/^Pods Statuses:\s+0 Active \/ 0 Succeeded \/ 1 Failed$/m);
    expect(kube('describe-failing-pods.txt')).toMatch(/^# pods neither Running nor Succeeded: kube-system\/pre-update-\w+ \(Failed\)\n/);
    expect(kube('describe-failing-pods.txt')).toMatch(/^Controlled By:\s+Job\/pre-update$/m);

    const all = files.map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
    for (const secret of ['planted-agent-secret', 'planted-runtime-secret', 'planted-key-body']) expect(all).not.toContain(secret);
    expect(readFileSync(join(out, 'nodes', 'node-1', 'agent', 'agent.log'), 'utf8')).toContain('connecting with password=[REDACTED]');
  });
});

/** A hook Job the emulator fails at once, as a failed pre-update hook would be left. */
const FAILING_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pre-update
  namespace: kube-system
  annotations:
    sandbox.hoist/outcome: Failed
    sandbox.hoist/duration-ms: "200"
    sandbox.hoist/log: "hook failed: could not reach the registry"
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hook
          image: quay.io/gravitational/debian-tall:stretch
`;

function listFiles(root: string, dir = ''): string[] {
  return readdirSync(join(root, dir)).flatMap((n) =>
    statSync(join(root, dir, n)).isDirectory() ? listFiles(root, join(dir, n)) : [join(dir, n)],
  );
}
