import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../../src/agent/server.js';
import { connectSocket, request, silentLog, startTestAgent, type TestAgent, tempDir, waitFor, writePackage } from './harness.js';

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function expectHelloStillAnswered(raw: Awaited<ReturnType<TestAgent['raw']>>, id: string): Promise<void> {
  raw.send(request(id, { type: 'hello' }));
  expect(await raw.next()).toMatchObject({ v: 1, type: 'hello', id, version: '9.9.9-test', pid: process.pid });
}

describe('agent server', () => {
  describe('startup', () => {
    it('listens on <stateDir>/agent.sock with mode 0600 and writes its pid file', async () => {
      t = await startTestAgent();
      const stat = await fs.stat(path.join(t.stateDir, 'agent.sock'));
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o600);
      expect(await fs.readFile(path.join(t.stateDir, 'agent', 'agent.pid'), 'utf8')).toBe(`${process.pid}\n`);
    });

    it('refuses to start while another agent answers on the socket', async () => {
      t = await startTestAgent();
      await expect(startAgent({ stateDir: t.stateDir, version: 'x', log: silentLog })).rejects.toMatchObject({ code: 'ERR_AGENT_RUNNING' });
      // The first agent is untouched.
      const client = await t.client();
      await expect(client.hello()).resolves.toMatchObject({ version: '9.9.9-test' });
    });

    it('replaces a stale socket left by a dead agent', async () => {
      const stateDir = await tempDir();
      const socketPath = path.join(stateDir, 'agent.sock');
      // A listener killed with SIGKILL leaves its socket file behind with nobody answering.
      const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
      await execa(process.execPath, ['-e', script], { reject: false });
      expect((await fs.lstat(socketPath)).isSocket()).toBe(true);
      t = await startTestAgent({ stateDir });
      await expect((await t.client()).hello()).resolves.toMatchObject({ version: '9.9.9-test' });
    });

    it('refuses a socket path that is not a socket', async () => {
      const stateDir = await tempDir();
      await fs.writeFile(path.join(stateDir, 'agent.sock'), 'not a socket');
      await expect(startAgent({ stateDir, version: '1', log: silentLog })).rejects.toMatchObject({ code: 'ERR_AGENT_SOCKET_PATH' });
      await fs.rm(stateDir, { recursive: true });
    });
  });

  describe('malformed input', () => {
    it('answers invalid JSON with ERR_AGENT_BAD_MESSAGE and keeps serving', async () => {
      t = await startTestAgent();
      const raw = await t.raw();
      raw.write('{"v":1, this is not json\n');
      const answer = await raw.next();
      expect(answer).toMatchObject({ type: 'error', id: '', error: { code: 'ERR_AGENT_BAD_MESSAGE' } });
      expect((answer.error as { message: string }).message).toMatch(/not valid JSON/);
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('names the field that fails validation', async () => {
      t = await startTestAgent();
      const raw = await t.raw();
      raw.send({ v: 1, id: 'x1', type: 'run', operationId: 'op', phaseId: '' });
      const answer = await raw.next();
      expect(answer).toMatchObject({ type: 'error', id: 'x1', error: { code: 'ERR_AGENT_BAD_MESSAGE' } });
      expect((answer.error as { message: string }).message).toMatch(/action/);
      raw.send({ v: 1, id: 'x2', type: 'launch-missiles', operationId: '', phaseId: '' });
      expect(await raw.next()).toMatchObject({ type: 'error', id: 'x2', error: { code: 'ERR_AGENT_BAD_MESSAGE' } });
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('refuses another protocol version clearly', async () => {
      t = await startTestAgent();
      const raw = await t.raw();
      raw.send({ v: 2, id: 'p1', type: 'hello', operationId: '', phaseId: '' });
      const answer = await raw.next();
      expect(answer).toMatchObject({ type: 'error', id: 'p1', error: { code: 'ERR_AGENT_PROTOCOL' } });
      expect((answer.error as { message: string }).message).toMatch(/protocol 2.*protocol 1/);
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('refuses an unknown action without creating an execution', async () => {
      t = await startTestAgent();
      const raw = await t.raw();
      raw.send(request('u1', { type: 'run', action: 'exec.shell', params: { cmd: 'rm -rf /' } }));
      const answer = await raw.next();
      expect(answer).toMatchObject({ type: 'error', id: 'u1', error: { code: 'ERR_AGENT_UNKNOWN_ACTION' } });
      expect((answer.error as { message: string }).message).toMatch(/exec\.shell.*facts/);
      await expect(fs.readdir(path.join(t.stateDir, 'agent', 'executions'))).rejects.toMatchObject({ code: 'ENOENT' });
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('refuses invalid params before accepting', async () => {
      t = await startTestAgent();
      const raw = await t.raw();
      raw.send(request('b1', { type: 'run', action: 'check.disk-write', params: { samples: 0 } }));
      expect(await raw.next()).toMatchObject({ type: 'error', id: 'b1', error: { code: 'ERR_AGENT_BAD_PARAMS' } });
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('drops an oversized line, says so, and reads the next line normally', async () => {
      t = await startTestAgent({ maxLineBytes: 4096 });
      const raw = await t.raw();
      // Sent in pieces so the cap is hit before the newline arrives.
      raw.write('{"v":1,"id":"big","type":"hello","pad":"');
      raw.write('x'.repeat(3000));
      raw.write(`${'x'.repeat(3000)}"}\n`);
      const answer = await raw.next();
      expect(answer).toMatchObject({ type: 'error', id: '', error: { code: 'ERR_AGENT_BAD_MESSAGE' } });
      expect((answer.error as { message: string }).message).toMatch(/longer than 4096 bytes/);
      await expectHelloStillAnswered(raw, 'h1');
    });

    it('refuses a second request with an id already in flight', async () => {
      t = await startTestAgent();
      await writePackage(t.stateDir, 'slow', '1.0.0', { wait: { run: 'while [ ! -f go ]; do sleep 0.05; done' } });
      const raw = await t.raw();
      raw.send(request('same', { type: 'run', action: 'exec.hook', params: { package: 'slow:1.0.0', hook: 'wait' } }));
      expect(await raw.next()).toMatchObject({ type: 'accepted', id: 'same' });
      raw.send(request('same', { type: 'hello' }));
      expect(await raw.next()).toMatchObject({ type: 'error', id: 'same', error: { code: 'ERR_AGENT_BAD_MESSAGE' } });
      await fs.writeFile(path.join(t.stateDir, 'packages', 'unpacked', 'slow', '1.0.0', 'go'), '');
      expect(await raw.next()).toMatchObject({ type: 'log', id: 'same' });
      expect(await raw.next()).toMatchObject({ type: 'result', id: 'same', ok: true });
    });
  });

  describe('concurrency', () => {
    it('serves concurrent requests on one connection, each answer under its own id', async () => {
      t = await startTestAgent();
      const dir = await writePackage(t.stateDir, 'pair', '1.0.0', {
        // "wait" can only finish after "release" ran: a serialising agent would hang here.
        wait: { run: 'while [ ! -f released ]; do sleep 0.05; done; echo waited' },
        release: { run: 'touch released; echo released' },
      });
      const client = await t.client();
      const outputs: Record<string, string> = { wait: '', release: '' };
      const run = (hook: string) =>
        client.run('exec.hook', { package: 'pair:1.0.0', hook }, { onOutput: (_s, data) => (outputs[hook] += data) });
      const waiting = run('wait');
      const [facts, time, hello] = await Promise.all([client.run('facts'), client.run('check.time'), client.hello()]);
      const released = await run('release');
      expect(await waiting).toMatchObject({ hook: 'wait', exitCode: 0 });
      expect(released).toMatchObject({ hook: 'release', exitCode: 0 });
      expect(outputs).toEqual({ wait: 'waited\n', release: 'released\n' });
      expect(facts).toMatchObject({ agentVersion: '9.9.9-test' });
      expect(time).toMatchObject({ time: expect.any(Number) });
      expect(hello.version).toBe('9.9.9-test');
      await expect(fs.access(path.join(dir, 'released'))).resolves.toBeUndefined();
    });
  });

  describe('records', () => {
    it('records request, output and result of every execution', async () => {
      t = await startTestAgent();
      await writePackage(t.stateDir, 'rec', '2.0.0', { install: { run: ['sh', '-c', 'echo out; echo err >&2'] } });
      const client = await t.client();
      let execution = '';
      await client.run(
        'exec.hook',
        { package: 'rec:2.0.0', hook: 'install' },
        { operationId: 'op-9', phaseId: '/masters/node-1/system-upgrade', onAccepted: (id) => (execution = id) },
      );
      const dir = path.join(t.stateDir, 'agent', 'executions', execution);
      const req = JSON.parse(await fs.readFile(path.join(dir, 'request.json'), 'utf8'));
      expect(req).toMatchObject({
        execution,
        action: 'exec.hook',
        operationId: 'op-9',
        phaseId: '/masters/node-1/system-upgrade',
        params: { package: 'rec:2.0.0', hook: 'install' },
        agent: { pid: process.pid },
      });
      const events = (await fs.readFile(path.join(dir, 'output.ndjson'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
      expect(
        events
          .filter((e) => e.type === 'output')
          .map((e) => [e.stream, e.data])
          .sort(),
      ).toEqual([
        ['stderr', 'err\n'],
        ['stdout', 'out\n'],
      ]);
      const result = JSON.parse(await fs.readFile(path.join(dir, 'result.json'), 'utf8'));
      expect(result).toMatchObject({ ok: true, data: { exitCode: 0 } });
    });
  });

  describe('shutdown', () => {
    it('stops a running hook and records it as ERR_AGENT_STOPPING', async () => {
      const stateDir = await tempDir();
      await writePackage(stateDir, 'long', '1.0.0', { install: { run: 'echo begun; sleep 30' } });
      const agent = await startAgent({ stateDir, version: '1', log: silentLog });
      const { AgentClient } = await import('../../../src/agent/client.js');
      const client = new AgentClient(await connectSocket(agent.socketPath));
      let execution = '';
      let out = '';
      const running = client.run(
        'exec.hook',
        { package: 'long:1.0.0', hook: 'install' },
        { onAccepted: (id) => (execution = id), onOutput: (_s, d) => (out += d) },
      );
      await waitFor(() => out.includes('begun'), 'the hook to start');
      const stopping = agent.stop();
      // The result reaches the connected client before the agent closes the connection.
      await expect(running).rejects.toMatchObject({ code: 'ERR_AGENT_STOPPING', execution });
      await stopping;
      const result = JSON.parse(await fs.readFile(path.join(stateDir, 'agent', 'executions', execution, 'result.json'), 'utf8'));
      expect(result).toMatchObject({ ok: false, error: { code: 'ERR_AGENT_STOPPING' } });
      await fs.rm(stateDir, { recursive: true });
    });

    it('answers bye, then removes its socket and pid file', async () => {
      const stateDir = await tempDir();
      const agent = await startAgent({ stateDir, version: '1', log: silentLog });
      const { AgentClient } = await import('../../../src/agent/client.js');
      const client = new AgentClient(await connectSocket(agent.socketPath));
      await client.shutdown();
      await agent.stopped;
      await expect(fs.access(agent.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(fs.access(agent.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
      await fs.rm(stateDir, { recursive: true });
    });
  });
});
