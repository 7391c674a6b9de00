/**
 * The `/etcd` block (spec §6.6): back up every member, shut the cluster down, switch each
 * master to the new etcd, restore the backup on the lead, restart. The etcd API is down from
 * shutdown until restart. Unlike Gravity, the block requires the phase before it (the DAG is
 * complete) and has no gravity-site restart: hoist keeps no state inside the cluster's etcd.
 */

import type { ExecutorKey } from '../phase-data.js';
import type { NodeFacts } from './input.js';
import { type PhaseBuilder, phase } from './tree.js';
import type { UpgradeFacts } from './upgrade-facts.js';

/** The `/etcd` group; `f.etcd` must be set. */
export function etcdPhases(f: UpgradeFacts): PhaseBuilder {
  const { from, to } = f.etcd!;
  const masters = f.masters;
  const perMaster = (key: string, description: string, build: (m: NodeFacts) => PhaseBuilder): PhaseBuilder =>
    phase(key, { description, parallel: masters.length }).addParallel(...masters.map(build));
  const member = (executor: ExecutorKey, description: string, m: NodeFacts, data?: Record<string, unknown>): PhaseBuilder =>
    phase(m.name, { executor, description, node: m.name, server: m.name, ...(data ? { data } : {}) });

  const backup = perMaster('backup', 'Backup etcd data', (m) =>
    member('etcd-backup', `Backup etcd on node "${m.name}"`, m, { version: from }),
  );
  const shutdown = perMaster('shutdown', 'Shutdown etcd cluster', (m) =>
    member('etcd-shutdown', `Shutdown etcd on node "${m.name}"`, m, { leader: m === f.leader }).require(child(backup, m)),
  );
  const upgrade = perMaster('upgrade', 'Upgrade etcd servers', (m) =>
    member('etcd-upgrade', `Upgrade etcd on node "${m.name}"`, m, { from, to }).require(child(shutdown, m)),
  );
  const restore = phase('restore', {
    executor: 'etcd-restore',
    description: 'Restore etcd data from backup',
    node: f.leader.name,
    data: { version: to },
  }).require(upgrade);
  // The lead restarts on the restored data; the others rejoin it and only need their own binary.
  const restart = perMaster('restart', 'Restart etcd servers', (m) =>
    member('etcd-restart', `Restart etcd on node "${m.name}"`, m, { leader: m === f.leader }).require(
      m === f.leader ? restore : child(upgrade, m),
    ),
  );
  return phase('etcd', { description: `Upgrade etcd ${from} to ${to}` }).addParallel(backup, shutdown, upgrade, restore, restart);
}

function child(group: PhaseBuilder, m: NodeFacts): PhaseBuilder {
  return group.children.find((c) => c.key === m.name)!;
}
