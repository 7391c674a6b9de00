/**
 * A separate etcd cluster for the operation store (the "management" etcd): members on their own
 * loopback addresses, each with its data dir, log and pid file under `dir`. The sandbox starts
 * one with `--store etcd`; the store tests start one per file. It is never the cluster's own
 * etcd, which the /etcd block stops.
 */
import { spawn } from 'node:child_process';
import { promises as fs, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateError } from '../errors.js';
import { loadEtcd3 } from '../etcd3-client.js';
import { commandLine, signalProcess, terminate, waitForExit } from './processes.js';

/** One member: its name and loopback address (client port 2379, peer port 2380). */
export interface StoreEtcdMember {
  name: string;
  address: string;
}

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

/** Client endpoints (host:port) of `members`. */
export function storeEtcdEndpoints(members: StoreEtcdMember[]): string[] {
  return members.map((m) => `${m.address}:${CLIENT_PORT}`);
}

function pidFile(dir: string, m: StoreEtcdMember): string {
  return path.join(dir, `${m.name}.pid`);
}

/** Pid of the member's running etcd, if any (checked through /proc: pids are reused). */
async function memberPid(dir: string, m: StoreEtcdMember): Promise<number | undefined> {
  const pid = Number.parseInt(await fs.readFile(pidFile(dir, m), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const cmd = await commandLine(pid);
  return cmd?.includes(`--data-dir=${path.join(dir, m.name)}`) ? pid : undefined;
}

/** Starts one member unless it runs (a new cluster on first start, its data dir afterwards); returns its pid. */
export async function startStoreEtcdMember(dir: string, members: StoreEtcdMember[], m: StoreEtcdMember): Promise<number> {
  const running = await memberPid(dir, m);
  if (running !== undefined) return running;
  const dataDir = path.join(dir, m.name);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const initial = members.map((x) => `${x.name}=http://${x.address}:${PEER_PORT}`).join(',');
  const log = openSync(path.join(dir, `${m.name}.log`), 'a');
  const child = spawn(
    'etcd',
    [
      `--name=${m.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://${m.address}:${CLIENT_PORT}`,
      `--advertise-client-urls=http://${m.address}:${CLIENT_PORT}`,
      `--listen-peer-urls=http://${m.address}:${PEER_PORT}`,
      `--initial-advertise-peer-urls=http://${m.address}:${PEER_PORT}`,
      `--initial-cluster=${initial}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=hoist-store-${path.basename(dir)}`,
      '--logger=zap',
      '--log-outputs=stderr',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  if (!child.pid) throw new StateError('ERR_SANDBOX_STORE_ETCD', `could not start etcd member ${m.name}`, { hint: 'is etcd installed?' });
  await fs.writeFile(pidFile(dir, m), `${child.pid}\n`);
  return child.pid;
}

/** Starts every member and waits until the cluster answers a linearizable read. */
export async function startStoreEtcd(dir: string, members: StoreEtcdMember[], timeoutMs = 60_000): Promise<string[]> {
  for (const m of members) await startStoreEtcdMember(dir, members, m);
  const endpoints = storeEtcdEndpoints(members);
  await waitStoreEtcdHealthy(endpoints, timeoutMs, dir);
  return endpoints;
}

/** Waits until `endpoints` serve a linearizable read (needs quorum). */
export async function waitStoreEtcdHealthy(endpoints: string[], timeoutMs: number, dir?: string): Promise<void> {
  const client = new (loadEtcd3())({
    hosts: endpoints.map((e) => `http://${e}`),
    defaultCallOptions: () => ({ deadline: Date.now() + 2_000 }),
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.get('health').string();
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new StateError(
            'ERR_SANDBOX_STORE_ETCD',
            `the store etcd at ${endpoints.join(', ')} did not become healthy: ${(err as Error).message}`,
            {
              hint: dir ? `see the member logs in ${dir}` : 'see the etcd member logs',
            },
          );
        }
        await sleep(200);
      }
    }
  } finally {
    client.close();
  }
}

/** Stops one member (kill -9 with `hard`, like a crashed machine); false when it was not running. */
export async function stopStoreEtcdMember(dir: string, m: StoreEtcdMember, hard = false): Promise<boolean> {
  const pid = await memberPid(dir, m);
  if (pid === undefined) return false;
  if (hard) {
    signalProcess(pid, 'SIGKILL');
    await waitForExit([pid], 5_000);
  } else {
    await terminate([pid]);
  }
  await fs.rm(pidFile(dir, m), { force: true });
  return true;
}

/** Stops every member. */
export async function stopStoreEtcd(dir: string, members: StoreEtcdMember[]): Promise<void> {
  await Promise.all(members.map((m) => stopStoreEtcdMember(dir, m)));
}

/** Members of the sandbox's store etcd: three addresses 100 above node-1's, on the same /24. */
export function sandboxStoreMembers(firstNodeAddress: string): StoreEtcdMember[] {
  const parts = firstNodeAddress.split('.').map(Number);
  const last = (parts[3] ?? 0) + 100;
  if (parts.length !== 4 || last + 2 > 254) {
    throw new StateError('ERR_SANDBOX_STORE_ADDRESS', `no room for the store etcd 100 addresses above ${firstNodeAddress}`, {
      hint: 'start the sandbox with a lower --first-address (e.g. 127.0.0.2)',
    });
  }
  return [0, 1, 2].map((i) => ({ name: `store-${i + 1}`, address: `${parts.slice(0, 3).join('.')}.${last + i}` }));
}
