import { describe, expect, it } from 'vitest';
import { describeBlocked, parseBlockedEviction } from '../../../src/kube/drain-progress.js';

describe('kube', () => {
  describe('drain progress', () => {
    const line = `error when evicting pods/"guarded-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`;

    it('parses a budget refusal from kubectl drain', () => {
      expect(parseBlockedEviction(line)).toEqual({
        pod: 'guarded-1',
        namespace: 'default',
        retryAfterSeconds: 5,
        reason: "Cannot evict pod as it would violate the pod's disruption budget.",
        byBudget: true,
      });
    });

    it('ignores other drain output', () => {
      expect(parseBlockedEviction('evicting pod default/web-1')).toBeUndefined();
      expect(parseBlockedEviction('node/node-1 drained')).toBeUndefined();
    });

    it('names the pod and the budget with its limits', () => {
      const blocked = parseBlockedEviction(line)!;
      const text = describeBlocked(
        'node-3',
        blocked,
        { namespace: 'default', name: 'guarded-pdb', minAvailable: 1, currentHealthy: 1, disruptionsAllowed: 0 },
        2,
      );
      expect(text).toBe(
        'drain of node "node-3": pod default/guarded-1 is blocked by PodDisruptionBudget default/guarded-pdb (minAvailable 1, 1 healthy, 0 disruptions allowed) (attempt 2); retrying in 5s',
      );
    });

    it('still names the pod when the budget could not be looked up', () => {
      expect(describeBlocked('node-3', parseBlockedEviction(line)!, undefined, 1)).toContain(
        'pod default/guarded-1 is protected by a PodDisruptionBudget',
      );
    });
  });
});
