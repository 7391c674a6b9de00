/**
 * A tiny Job controller. A created Job gets one pod (labelled `job-name=<job>`), and after
 * `sandbox.hoist/duration-ms` (default 1 s) finishes as `sandbox.hoist/outcome` says (Complete or
 * Failed, default Complete). The pod's log is the `sandbox.hoist/log` annotation or a default line.
 * The annotations are read from the Job or from its pod template.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Json, KubeObject } from './resources.js';
import { type ObjectStore, resourceOfKind } from './store.js';

const JOBS = resourceOfKind('Job');
const PODS = resourceOfKind('Pod');
const NODES = resourceOfKind('Node');

/** Annotations that steer a Job's outcome in the emulator. */
export const JOB_ANNOTATIONS = {
  outcome: 'sandbox.hoist/outcome',
  durationMs: 'sandbox.hoist/duration-ms',
  log: 'sandbox.hoist/log',
} as const;

const DEFAULT_DURATION_MS = 1000;

function annotationsOf(job: KubeObject): Record<string, string> {
  return { ...(job.spec?.template?.metadata?.annotations ?? {}), ...(job.metadata.annotations ?? {}) };
}

function isFinished(job: KubeObject): boolean {
  return ((job.status?.conditions ?? []) as Json[]).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** Fills what the API server defaults on create: a uid, the selector and the template labels. */
export function defaultJob(job: KubeObject): KubeObject {
  const uid = job.metadata.uid ?? randomUUID();
  const labels = {
    'controller-uid': uid,
    'batch.kubernetes.io/controller-uid': uid,
    'job-name': job.metadata.name,
    'batch.kubernetes.io/job-name': job.metadata.name,
  };
  const template = job.spec?.template ?? {};
  return {
    ...job,
    metadata: { ...job.metadata, uid },
    spec: {
      backoffLimit: 6,
      completions: 1,
      parallelism: 1,
      ...job.spec,
      selector: job.spec?.selector ?? { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      template: { ...template, metadata: { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } } },
    },
  };
}

/** The log a job pod prints (the emulator serves it at `pods/<pod>/log`). */
export function podLog(pod: KubeObject): string {
  const text = pod.metadata.annotations?.[JOB_ANNOTATIONS.log];
  if (text !== undefined) return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  const job = pod.metadata.labels?.['job-name'];
  return job ? `job ${job}: running hook\n` : `${pod.metadata.name}: running\n`;
}

/** True when the pod has stopped (its log will not grow). */
export function podFinished(pod: KubeObject | undefined): boolean {
  return !pod || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Runs Jobs to their outcome. */
export class JobController {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: ObjectStore) {
    // Jobs restored from a state file pick up where they were.
    for (const job of store.list(JOBS)) if (!isFinished(job)) this.start(job);
    this.unsubscribe = store.subscribe((ev) => {
      if (ev.res === JOBS && ev.type === 'ADDED' && !isFinished(ev.object)) this.start(ev.object);
    });
  }

  /** Stops pending completions. */
  close(): void {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private start(job: KubeObject): void {
    const annotations = annotationsOf(job);
    const existing = this.store
      .list(PODS, job.metadata.namespace)
      .find((p) => p.metadata.ownerReferences?.some((o) => o.uid === job.metadata.uid));
    const pod = existing ?? this.createPod(job, annotations);
    if (!job.status?.startTime) {
      this.store.put(JOBS, { ...job, status: { ...job.status, startTime: new Date().toISOString(), active: 1 } });
    }
    const duration = Number(annotations[JOB_ANNOTATIONS.durationMs] ?? DEFAULT_DURATION_MS);
    const failed = (annotations[JOB_ANNOTATIONS.outcome] ?? 'Complete').toLowerCase() === 'failed';
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.finish(job, pod, failed);
      },
      Number.isFinite(duration) ? duration : DEFAULT_DURATION_MS,
    );
    this.timers.add(timer);
  }

  private createPod(job: KubeObject, annotations: Record<string, string>): KubeObject {
    const template = job.spec?.template ?? {};
    const node = this.store.list(NODES).find((n) => !n.spec?.unschedulable);
    const now = new Date().toISOString();
    return this.store.put(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${job.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        namespace: job.metadata.namespace,
        labels: { ...template.metadata?.labels, 'job-name': job.metadata.name },
        annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid!, controller: true }],
      },
      spec: { ...template.spec, ...(node ? { nodeName: node.metadata.name } : {}) },
      status: {
        phase: 'Running',
        startTime: now,
        ...(node ? { hostIP: node.status?.addresses?.[0]?.address, podIP: node.status?.addresses?.[0]?.address } : {}),
      },
    });
  }

  private finish(job: KubeObject, pod: KubeObject, failed: boolean): void {
    const now = new Date().toISOString();
    const currentPod = this.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
    if (currentPod) {
      const containers = ((currentPod.spec?.containers ?? []) as Json[]).map((c) => ({
        name: c.name,
        ready: false,
        // startedAt as the kubelet reports it: kubectl describe shows year 1 without it.
        state: {
          terminated: {
            exitCode: failed ? 1 : 0,
            reason: failed ? 'Error' : 'Completed',
            startedAt: currentPod.status?.startTime ?? now,
            finishedAt: now,
          },
        },
      }));
      this.store.put(PODS, {
        ...currentPod,
        status: { ...currentPod.status, phase: failed ? 'Failed' : 'Succeeded', containerStatuses: containers },
      });
    }
    const currentJob = this.store.get(JOBS, job.metadata.namespace, job.metadata.name);
    if (!currentJob || currentJob.metadata.uid !== job.metadata.uid) return;
    const condition = failed
      ? {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastProbeTime: now,
          lastTransitionTime: now,
        }
      : { type: 'Complete', status: 'True', lastProbeTime: now, lastTransitionTime: now };
    const status: Json = {
      ...currentJob.status,
      conditions: [condition],
      ...(failed ? { failed: 1 } : { succeeded: 1, completionTime: now }),
    };
    delete status.active;
    this.store.put(JOBS, { ...currentJob, status });
  }
}
