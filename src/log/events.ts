/** Stable `event` names of log lines; renderers and tests switch on these, never on message text. */
export const Events = {
  planCreated: 'plan.created',
  operationCreated: 'operation.created',
  operationCompleted: 'operation.completed',
  phaseStart: 'phase.start',
  phaseComplete: 'phase.complete',
  phaseFail: 'phase.fail',
  phaseSkip: 'phase.skip',
  phaseForce: 'phase.force',
  phaseRollback: 'phase.rollback',
  phaseRolledBack: 'phase.rolled_back',
  progress: 'progress',
  sshConnect: 'ssh.connect',
  lockTakeover: 'lock.takeover',
} as const;
