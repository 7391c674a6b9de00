// A holder of the etcd store's cluster lease in its own process, so that the test can SIGSTOP it:
// takes the lease, creates op-1 (TEST_OPERATION, TEST_PLAN: JSON) with one change, says "ready", and on each stdin line tries one
// more append and prints the outcome as one JSON line.
import { createInterface } from 'node:readline';
import { EtcdStore } from '../../../dist/store/etcd-store.js';

const [endpoints, prefix, stateDir] = process.argv.slice(2);
const store = new EtcdStore({ endpoints: endpoints.split(','), prefix }, stateDir, { staleAfterMs: 2_000, callTimeoutMs: 3_000 });
const lease = await store.lock('demo', { host: 'host-a', pid: process.pid, command: 'hoist upgrade' });
await store.createOperation(JSON.parse(process.env.TEST_OPERATION), JSON.parse(process.env.TEST_PLAN), lease);
await store.appendChange('demo', 'op-1', { phase: '/a', state: 'completed', at: new Date().toISOString() }, lease);
console.log(JSON.stringify({ ready: true, epoch: lease.epoch }));
for await (const _line of createInterface({ input: process.stdin })) {
  try {
    const c = await store.appendChange('demo', 'op-1', { phase: '/late', state: 'completed', at: new Date().toISOString() }, lease);
    console.log(JSON.stringify({ appended: c.seq }));
  } catch (err) {
    console.log(JSON.stringify({ code: err.code, message: err.message, aborted: lease.signal.aborted }));
  }
}
await store.close();
