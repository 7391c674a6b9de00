/** The sandbox's Kubernetes API emulator: start it, seed it, write a kubeconfig for it. */
export { startKubeEmulator, type KubeEmulator, type KubeEmulatorOptions, type EmulatorState, type EmulatorLog } from './server.js';
export { defaultSeed, ADVERTISE_IP_LABEL, GUARDED_BUDGET, type SeedNode, type SeedOptions } from './seed.js';
export { writeKubeconfig, renderKubeconfig, KUBECONFIG_CONTEXT } from './kubeconfig.js';
export { JOB_ANNOTATIONS } from './jobs.js';
export type { KubeObject } from './resources.js';
