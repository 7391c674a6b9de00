import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../../src/sandbox/kube/patch.js';
import { parseResourcePath } from '../../../src/sandbox/kube/resources.js';
import { matchesFieldSelector, matchesLabelSelector } from '../../../src/sandbox/kube/select.js';

describe('sandbox kube emulator', () => {
  describe('paths', () => {
    it('tells a Namespace object from a namespaced collection', () => {
      expect(parseResourcePath('/api/v1/namespaces/kube-system')).toMatchObject({ res: { plural: 'namespaces' }, name: 'kube-system' });
      expect(parseResourcePath('/api/v1/namespaces/kube-system/pods')).toMatchObject({ res: { plural: 'pods' }, namespace: 'kube-system' });
      expect(parseResourcePath('/api/v1/namespaces/default/pods/p1/eviction')).toMatchObject({ name: 'p1', subresource: 'eviction' });
      expect(parseResourcePath('/apis/batch/v1/namespaces/default/jobs/j')).toMatchObject({ res: { kind: 'Job' }, name: 'j' });
    });

    it('rejects unknown resources and namespaced paths of cluster-scoped kinds', () => {
      expect(parseResourcePath('/api/v1/widgets')).toBeUndefined();
      expect(parseResourcePath('/api/v1/namespaces/default/nodes/n1')).toBeUndefined();
    });
  });

  describe('patches', () => {
    it('deletes keys set to null and replaces taint lists', () => {
      const node = { spec: { unschedulable: true, taints: [{ key: 'a', effect: 'NoExecute' }] } };
      expect(applyPatch(node, { spec: { unschedulable: null, taints: [{ key: 'b', effect: 'NoSchedule' }] } }, 'strategic')).toEqual({
        spec: { taints: [{ key: 'b', effect: 'NoSchedule' }] },
      });
    });

    it('merges named lists in strategic patches only', () => {
      const target = {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:1' },
        ],
      };
      const patch = { $setElementOrder: {}, containers: [{ name: 'a', image: 'a:2' }] };
      expect(applyPatch(target, patch, 'strategic')).toEqual({
        containers: [
          { name: 'a', image: 'a:2' },
          { name: 'b', image: 'b:1' },
        ],
      });
      expect(applyPatch(target, patch, 'merge')).toEqual({ containers: [{ name: 'a', image: 'a:2' }] });
    });
  });

  describe('selectors', () => {
    it('matches label selectors with equality, sets and existence', () => {
      const labels = { app: 'web', tier: 'front' };
      expect(matchesLabelSelector(labels, 'app=web,tier!=back')).toBe(true);
      expect(matchesLabelSelector(labels, 'app in (web,api),!canary')).toBe(true);
      expect(matchesLabelSelector(labels, 'tier notin (front)')).toBe(false);
      expect(matchesLabelSelector(labels, 'missing')).toBe(false);
    });

    it('matches field selectors on dotted paths', () => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'node-1' } };
      expect(matchesFieldSelector(pod, 'spec.nodeName=node-1')).toBe(true);
      expect(matchesFieldSelector(pod, 'metadata.name==q')).toBe(false);
    });
  });
});
