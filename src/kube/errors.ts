/** Errors of the Kubernetes operations (codes ERR_KUBE_* and ERR_HOOK_JOB_*). */
import { type ErrorDetails, InputError, PhaseFailedError } from '../errors.js';

/** A Kubernetes operation failed on the cluster (the phase fails; the plan stays resumable). */
export class KubeError extends PhaseFailedError {
  constructor(code: `ERR_KUBE_${string}`, message: string, extra?: ErrorDetails) {
    super(code, message, extra);
  }
}

/** A hook Job failed or did not finish in time; carries the job and its last log lines. */
export class HookJobError extends PhaseFailedError {
  readonly job: string;
  readonly logTail: string[];

  constructor(
    code: 'ERR_HOOK_JOB_FAILED' | 'ERR_HOOK_JOB_TIMEOUT',
    message: string,
    job: string,
    logTail: string[],
    extra: ErrorDetails = {},
  ) {
    super(code, message, { ...extra, details: [...(extra.details ?? []), ...logTail.map((l) => `log: ${l}`)] });
    this.job = job;
    this.logTail = logTail;
  }
}

/** A manifest handed to a Kubernetes operation is not usable (bad YAML, not a Job). */
export class KubeManifestError extends InputError {
  constructor(message: string, extra?: ErrorDetails) {
    super('ERR_KUBE_MANIFEST_INVALID', message, extra);
  }
}
