/** Kubernetes' view of the nodes (`kubectl get nodes -o json`), as `hoist status` shows it. */
import { z } from 'zod';

/** One Kubernetes node's readiness, schedulability and taints. */
export interface KubeNodeState {
  ready: boolean;
  /** The Ready condition's reason when the node is not Ready. */
  reason?: string;
  schedulable: boolean;
  /** `key=value:effect`. */
  taints: string[];
}

const nodeList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      spec: z
        .object({
          unschedulable: z.boolean().optional(),
          taints: z.array(z.object({ key: z.string(), value: z.string().optional(), effect: z.string() })).optional(),
        })
        .optional(),
      status: z
        .object({ conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional() })).optional() })
        .optional(),
    }),
  ),
});

/** Parses kubectl's node list; throws on anything else. */
export function parseKubeNodes(json: string): Map<string, KubeNodeState> {
  const list = nodeList.parse(JSON.parse(json));
  return new Map(
    list.items.map((n) => {
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      const state: KubeNodeState = {
        ready: ready?.status === 'True',
        ...(ready && ready.status !== 'True' && ready.reason ? { reason: ready.reason } : {}),
        schedulable: !n.spec?.unschedulable,
        taints: (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
      };
      return [n.metadata.name, state];
    }),
  );
}
