import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../../src/agent/client.js';

/** A scripted agent on the far end of an in-memory stream: it sees requests and writes raw lines. */
function fakeAgent(options: { maxLineBytes?: number } = {}) {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const stream = Duplex.from({ readable: toClient, writable: fromClient });
  const client = new AgentClient(stream, { node: 'node-2', ...options });
  const requests: Array<Record<string, unknown>> = [];
  let waiting: (() => void) | undefined;
  let buffer = '';
  fromClient.setEncoding('utf8');
  fromClient.on('data', (text: string) => {
    buffer += text;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      requests.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
    waiting?.();
  });
  return {
    client,
    async request(n: number): Promise<Record<string, unknown>> {
      while (requests.length <= n) await new Promise<void>((resolve) => (waiting = resolve));
      return requests[n]!;
    },
    send(message: object | string): void {
      toClient.write(typeof message === 'string' ? message : `${JSON.stringify({ v: 1, ...message })}\n`);
    },
    hangUp(): void {
      toClient.end();
    },
  };
}

describe('agent client', () => {
  it('sends versioned requests with operation and phase ids and matches answers by id', async () => {
    const agent = fakeAgent();
    const first = agent.client.run('facts', {}, { operationId: 'op-1', phaseId: '/init/node-2' });
    const second = agent.client.hello();
    const [r1, r2] = [await agent.request(0), await agent.request(1)];
    expect(r1).toEqual({
      v: 1,
      id: expect.any(String),
      type: 'run',
      action: 'facts',
      params: {},
      operationId: 'op-1',
      phaseId: '/init/node-2',
      epoch: 0,
    });
    expect(r2).toMatchObject({ v: 1, type: 'hello', operationId: '', phaseId: '' });
    // Answer out of order.
    agent.send({ type: 'hello', id: r2.id, version: '1.0.0', hostname: 'n2', pid: 7 });
    agent.send({ type: 'accepted', id: r1.id, execution: 'e1' });
    agent.send({ type: 'result', id: r1.id, execution: 'e1', ok: true, data: { hostname: 'n2' } });
    await expect(second).resolves.toEqual({ version: '1.0.0', hostname: 'n2', pid: 7, running: {} });
    await expect(first).resolves.toEqual({ hostname: 'n2' });
  });

  it('fails the call named by an invalid answer, and only that call', async () => {
    const agent = fakeAgent();
    const bad = agent.client.run('facts');
    const good = agent.client.run('check.time');
    const [r1, r2] = [await agent.request(0), await agent.request(1)];
    agent.send({ type: 'result', id: r1.id, execution: 'e1', ok: 'yes' });
    agent.send({ type: 'result', id: r2.id, execution: 'e2', ok: true, data: { time: 1 } });
    await expect(bad).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_MESSAGE', exitCode: 70, node: 'node-2' });
    await expect(good).resolves.toEqual({ time: 1 });
  });

  it('refuses an answer of another protocol version as ERR_AGENT_PROTOCOL', async () => {
    const agent = fakeAgent();
    const hello = agent.client.hello();
    const r = await agent.request(0);
    agent.send(`${JSON.stringify({ v: 2, type: 'hello', id: r.id, version: '9', hostname: 'x', pid: 1 })}\n`);
    await expect(hello).rejects.toMatchObject({ code: 'ERR_AGENT_PROTOCOL', exitCode: 4 });
  });

  it('treats a line it cannot attribute as a broken stream and fails every pending call', async () => {
    const agent = fakeAgent();
    const a = agent.client.hello();
    const b = agent.client.run('facts');
    await agent.request(1);
    agent.send('garbage\n');
    await expect(a).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_MESSAGE' });
    await expect(b).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_MESSAGE' });
  });

  it('streams output and log lines to the caller and rejects with the agent error code', async () => {
    const agent = fakeAgent();
    const seen: string[] = [];
    const call = agent.client.run(
      'exec.hook',
      { package: 'p:1', hook: 'install' },
      {
        onAccepted: (id) => seen.push(`accepted ${id}`),
        onOutput: (stream, data) => seen.push(`${stream} ${data}`),
        onLog: (level, message) => seen.push(`${level} ${message}`),
      },
    );
    const r = await agent.request(0);
    agent.send({ type: 'accepted', id: r.id, execution: 'e9' });
    agent.send({ type: 'log', id: r.id, execution: 'e9', level: 'info', message: 'running' });
    agent.send({ type: 'output', id: r.id, execution: 'e9', stream: 'stderr', data: 'boom' });
    agent.send({
      type: 'result',
      id: r.id,
      execution: 'e9',
      ok: false,
      error: { code: 'ERR_HOOK_FAILED', message: 'exited with code 2', hint: 'look' },
    });
    await expect(call).rejects.toMatchObject({
      code: 'ERR_HOOK_FAILED',
      message: 'exited with code 2',
      hint: 'look',
      exitCode: 6,
      execution: 'e9',
      node: 'node-2',
    });
    expect(seen).toEqual(['accepted e9', 'info running', 'stderr boom']);
  });

  it('rejects pending calls with ERR_AGENT_DISCONNECTED carrying the execution id, and later calls at once', async () => {
    const agent = fakeAgent();
    const accepted = agent.client.run('exec.hook', { package: 'p:1', hook: 'install' });
    const unaccepted = agent.client.run('facts');
    const r = await agent.request(0);
    await agent.request(1);
    agent.send({ type: 'accepted', id: r.id, execution: 'e5' });
    await new Promise((resolve) => setImmediate(resolve));
    agent.hangUp();
    await expect(accepted).rejects.toMatchObject({
      code: 'ERR_AGENT_DISCONNECTED',
      exitCode: 5,
      execution: 'e5',
      hint: expect.stringContaining('attach to e5'),
    });
    const err = await unaccepted.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_AGENT_DISCONNECTED' });
    expect((err as { execution?: string }).execution).toBeUndefined();
    await expect(agent.client.hello()).rejects.toMatchObject({ code: 'ERR_AGENT_DISCONNECTED' });
  });

  it('stops waiting on abort with ERR_AGENT_ABORTED naming the execution that goes on', async () => {
    const agent = fakeAgent();
    const controller = new AbortController();
    const call = agent.client.run('exec.hook', { package: 'p:1', hook: 'install' }, { signal: controller.signal });
    const r = await agent.request(0);
    agent.send({ type: 'accepted', id: r.id, execution: 'e3' });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'ERR_AGENT_ABORTED', exitCode: 130, execution: 'e3' });
    // Late messages for the abandoned call are ignored; the connection still works.
    agent.send({ type: 'result', id: r.id, execution: 'e3', ok: true });
    const hello = agent.client.hello();
    const h = await agent.request(1);
    agent.send({ type: 'hello', id: h.id, version: '1', hostname: 'n', pid: 1 });
    await expect(hello).resolves.toMatchObject({ version: '1' });
  });

  it('refuses to send a request larger than the line cap', async () => {
    const agent = fakeAgent({ maxLineBytes: 1024 });
    await expect(agent.client.run('facts', { pad: 'x'.repeat(2000) })).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_REQUEST' });
  });
});
