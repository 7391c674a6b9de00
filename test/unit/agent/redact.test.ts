import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from '../../../src/agent/redact.js';

describe('agent › redact', () => {
  it('removes passwords, tokens and keys in JSON, YAML, env and flag form, keeping the names', () => {
    const text = [
      '{"level":30,"password":"hunter2","msg":"ok","nested":{"apiToken":"abc.def"}}',
      'db_password: s3cr3t',
      'ETCD_ACCESS_KEY=AKIA1234 other=kept',
      '--token=t0k3n --name=node-1',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
    ].join('\n');
    const out = redact(text);
    for (const secret of ['hunter2', 'abc.def', 's3cr3t', 'AKIA1234', 't0k3n', 'eyJhbGciOiJIUzI1NiJ9']) expect(out).not.toContain(secret);
    expect(out).toContain(`"password":"${REDACTED}"`);
    expect(out).toContain(`"apiToken":"${REDACTED}"`);
    expect(out).toContain(`db_password: ${REDACTED}`);
    expect(out).toContain('other=kept');
    expect(out).toContain('--name=node-1');
    expect(out).toContain('"msg":"ok"');
  });

  it('removes a private key block, also one cut off at the end of a tail', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(redact(`before\n${key}\nafter`)).toBe(`before\n-----BEGIN OPENSSH PRIVATE KEY----- ${REDACTED}\nafter`);
    expect(redact('x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow')).not.toContain('MIIEow');
  });

  it('changes nothing more when run again on what it redacted (node, then orchestrator)', () => {
    const text =
      'api_token: abc123\n-----BEGIN RSA PRIVATE KEY-----\nbody\n-----END RSA PRIVATE KEY-----\npassword=x "secret": "y"\nnext line\n';
    const once = redact(text);
    expect(once).toBe(
      'api_token: [REDACTED]\n-----BEGIN RSA PRIVATE KEY----- [REDACTED]\npassword=[REDACTED] "secret": "[REDACTED]"\nnext line\n',
    );
    expect(redact(once)).toBe(once);
  });

  it('leaves ordinary log lines alone', () => {
    const line = 'runtime 7.0.35-11706 on node-2 is healthy; etcd member node-2 is healthy';
    expect(redact(line)).toBe(line);
  });
});

describe('agent › redact › cost', () => {
  it('scans a megabyte of word characters (a base64 blob) in linear time', () => {
    const blob = `${'A'.repeat(1_000_000)} password=x`;
    const started = Date.now();
    expect(redact(blob).endsWith(`password=${REDACTED}`)).toBe(true);
    // A generous bound that only a quadratic scan (minutes) exceeds.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
