/** The sandbox's Kubernetes API emulator: start it, seed it, write a kubeconfig for it. */

export { JOB_ANNOTATIONS } from './jobs.js';
export { KUBECONFIG_CONTEXT, renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
export type { KubeObject } from './resources.js';
export { ADVERTISE_IP_LABEL, defaultSeed, GUARDED_BUDGET, type SeedNode, type SeedOptions } from './seed.js';
export { type EmulatorLog, type EmulatorState, type KubeEmulator, type KubeEmulatorOptions, startKubeEmulator } from './server.js';
