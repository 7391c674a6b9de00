/**
 * Hook Jobs (`preUpdate`, `update`, `postUpdate`, `rollback`, …): create the Job, stream its pod's
 * log, wait until it is Complete or Failed, then delete it. A Job left from an interrupted run of
 * the same phase is deleted first, so a resumed phase starts it afresh.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { HookJobError, KubeManifestError } from './errors.js';
import { kubectl, kubectlJson } from './kubectl.js';
import { type KubeCallOptions, type KubectlRunner, lineSplitter } from './runner.js';

/** Options of runHookJob. */
export interface HookJobOptions extends KubeCallOptions {
  /** Namespace to run the Job in; default the manifest's, else kube-system. */
  namespace?: string;
  /** Bound on the Job (default 20 min, as Gravity's hook deadline). */
  timeoutMs?: number;
  /** Each log line of the Job's pod as it arrives. */
  onLog?: (line: string) => void;
  /** Status poll interval (default 1 s). */
  pollMs?: number;
}

/** What a finished hook Job left behind. */
export interface HookJobResult {
  job: string;
  namespace: string;
  logs: string[];
}

/** Default bound of a hook Job (Gravity: 20 min). */
export const HOOK_JOB_TIMEOUT_MS = 20 * 60 * 1000;
const LOG_TAIL = 10;

interface JobObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; generateName?: string; namespace?: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

function parseManifest(manifestYaml: string): JobObject {
  let docs: unknown[];
  try {
    docs = YAML.parseAllDocuments(manifestYaml)
      .map((d) => {
        if (d.errors.length) throw d.errors[0];
        return d.toJS() as unknown;
      })
      .filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new KubeManifestError(`hook job manifest is not valid YAML: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'fix the hook manifest in the image',
    });
  }
  const job = docs[0] as JobObject | undefined;
  if (docs.length !== 1 || !job || job.kind !== 'Job' || !String(job.apiVersion ?? '').startsWith('batch/')) {
    throw new KubeManifestError('hook job manifest must hold exactly one batch/v1 Job', { hint: 'fix the hook manifest in the image' });
  }
  if (!job.metadata?.name && !job.metadata?.generateName)
    throw new KubeManifestError('hook job manifest has no metadata.name', { hint: 'name the Job in the hook manifest' });
  return job;
}

function finalCondition(job: JobObject): { type: 'Complete' | 'Failed'; message?: string } | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'))
      return { type: c.type, ...(c.message ? { message: c.message } : {}) };
  }
  return undefined;
}

/** Runs one hook Job to completion; throws ERR_HOOK_JOB_FAILED (naming the job and its last log lines) if it fails. */
export async function runHookJob(runner: KubectlRunner, manifestYaml: string, opts: HookJobOptions = {}): Promise<HookJobResult> {
  const manifest = parseManifest(manifestYaml);
  const namespace = opts.namespace ?? manifest.metadata?.namespace ?? 'kube-system';
  const call: KubeCallOptions = opts.signal ? { signal: opts.signal } : {};
  const timeoutMs = opts.timeoutMs ?? HOOK_JOB_TIMEOUT_MS;
  const ns = ['-n', namespace];
  const body = JSON.stringify({ ...manifest, metadata: { ...manifest.metadata, namespace } });

  if (manifest.metadata?.name) {
    await kubectl(
      runner,
      `delete the previous hook job ${namespace}/${manifest.metadata.name}`,
      ['delete', 'job', manifest.metadata.name, ...ns, '--ignore-not-found', '--wait=true', '--cascade=foreground'],
      call,
    );
  }
  const created = await kubectlJson<JobObject>(runner, 'create the hook job', ['create', '-f', '-', '--validate=false', ...ns], {
    ...call,
    stdin: body,
  });
  const name = created.metadata?.name ?? manifest.metadata?.name ?? '';
  const id = `${namespace}/${name}`;

  const logs: string[] = [];
  const stopLogs = new AbortController();
  const follower = followLogs(
    runner,
    name,
    namespace,
    logs,
    opts.onLog,
    AbortSignal.any([stopLogs.signal, ...(opts.signal ? [opts.signal] : [])]),
  );
  try {
    const outcome = await waitForJob(runner, name, namespace, timeoutMs, opts.pollMs ?? 1000, call);
    // The follower ends by itself when the pod stops; give it a moment, then fetch what it missed.
    const grace = new AbortController();
    const followed = await Promise.race([follower, sleep(5000, false, { signal: grace.signal }).catch(() => false)]);
    grace.abort();
    if (!followed) {
      stopLogs.abort();
      await follower;
    }
    if (!followed || !logs.length) await fetchLogs(runner, name, namespace, logs, opts.onLog, call);
    if (outcome === 'timeout') {
      throw new HookJobError(
        'ERR_HOOK_JOB_TIMEOUT',
        `hook job "${id}" did not finish within ${Math.round(timeoutMs / 1000)}s`,
        name,
        logs.slice(-LOG_TAIL),
        {
          hint: `check the job's pod (kubectl -n ${namespace} describe pods -l job-name=${name}); re-run the phase once it can finish`,
        },
      );
    }
    if (outcome.type === 'Failed') {
      throw new HookJobError(
        'ERR_HOOK_JOB_FAILED',
        `hook job "${id}" failed${outcome.message ? `: ${outcome.message}` : ''}`,
        name,
        logs.slice(-LOG_TAIL),
        {
          hint: 'the last log lines of the job are listed below; fix the cause and re-run the phase',
        },
      );
    }
    return { job: name, namespace, logs };
  } finally {
    stopLogs.abort();
    await follower;
    await runner
      .run(['delete', 'job', name, ...ns, '--ignore-not-found', '--wait=false', '--cascade=background'], call)
      .catch(() => undefined);
  }
}

async function waitForJob(
  runner: KubectlRunner,
  name: string,
  namespace: string,
  timeoutMs: number,
  pollMs: number,
  call: KubeCallOptions,
): Promise<{ type: 'Complete' | 'Failed'; message?: string } | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await kubectlJson<JobObject>(runner, `get hook job ${namespace}/${name}`, ['get', 'job', name, '-n', namespace], call);
    const done = finalCondition(job);
    if (done) return done;
    if (Date.now() >= deadline) return 'timeout';
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, call.signal ? { signal: call.signal } : {});
  }
}

/** Streams the job pod's log until the pod stops; true when kubectl followed it to the end. */
async function followLogs(
  runner: KubectlRunner,
  name: string,
  namespace: string,
  logs: string[],
  onLog: ((line: string) => void) | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  const lines = lineSplitter((line) => {
    logs.push(line);
    onLog?.(line);
  });
  try {
    const result = await runner.run(['logs', '-f', `job/${name}`, '-n', namespace, '--all-containers=true', '--pod-running-timeout=2m'], {
      signal,
      onStdout: (c) => lines.push(c),
    });
    lines.flush();
    return result.exitCode === 0;
  } catch {
    lines.flush();
    return false;
  }
}

async function fetchLogs(
  runner: KubectlRunner,
  name: string,
  namespace: string,
  logs: string[],
  onLog: ((line: string) => void) | undefined,
  call: KubeCallOptions,
): Promise<void> {
  const result = await runner
    .run(['logs', `job/${name}`, '-n', namespace, '--all-containers=true', '--tail=200'], call)
    .catch(() => undefined);
  if (result?.exitCode !== 0) return;
  const seen = new Set(logs);
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    if (seen.has(line)) continue;
    logs.push(line);
    onLog?.(line);
  }
}
