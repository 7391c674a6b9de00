/** Runs kubectl through a runner and turns failures into KubeErrors with the command and its last error line. */
import { KubeError } from './errors.js';
import type { KubectlResult, KubectlRunner, KubectlRunOptions } from './runner.js';

/** The last non-empty line of kubectl's stderr (its error message). */
export function lastErrorLine(result: Pick<KubectlResult, 'stderr' | 'stdout'>): string {
  const lines = `${result.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? (result.stdout.trim().split('\n').pop() || 'no output');
}

/** True when kubectl could not reach the API server at all. */
function isUnreachable(result: Pick<KubectlResult, 'stderr'>): boolean {
  return /connection refused|Unable to connect to the server|no such host|i\/o timeout|dial tcp/i.test(result.stderr);
}

/** The error for a failed run; `what` says what was attempted ("cordon node \"node-1\""). */
export function kubectlFailure(what: string, args: string[], result: KubectlResult): KubeError {
  if (isUnreachable(result)) {
    return new KubeError('ERR_KUBE_API_UNREACHABLE', `could not ${what}: the Kubernetes API is unreachable (${lastErrorLine(result)})`, {
      hint: 'check that the API server on the lead master runs and that its kubeconfig is right, then re-run the phase',
    });
  }
  const how = result.timedOut ? 'timed out' : `failed (exit ${result.exitCode})`;
  return new KubeError('ERR_KUBE_COMMAND_FAILED', `could not ${what}: kubectl ${args[0] ?? ''} ${how}: ${lastErrorLine(result)}`, {
    hint: `run "kubectl ${args.join(' ')}" on the lead master to see the full error, fix it, then re-run the phase`,
  });
}

/** Runs kubectl and throws a KubeError unless it exits 0. */
export async function kubectl(runner: KubectlRunner, what: string, args: string[], opts: KubectlRunOptions = {}): Promise<KubectlResult> {
  const result = await runner.run(args, opts);
  if (result.exitCode !== 0 || result.timedOut) throw kubectlFailure(what, args, result);
  return result;
}

/** Runs a `-o json` kubectl command and parses its output. */
export async function kubectlJson<T>(runner: KubectlRunner, what: string, args: string[], opts: KubectlRunOptions = {}): Promise<T> {
  const result = await kubectl(runner, what, [...args, '-o', 'json'], opts);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new KubeError('ERR_KUBE_BAD_OUTPUT', `could not ${what}: kubectl printed something that is not JSON`, {
      hint: 'check the kubectl version on the lead master (hoist needs kubectl ≥ 1.20)',
    });
  }
}
