import { describe, expect, it } from 'vitest';
import { lineTime, logHeader, logSince } from '../../../src/agent/log-since.js';

const CUT = Date.parse('2026-11-29T08:00:00Z');

describe('agent › log lines since a cutoff', () => {
  it('reads the timestamps of the logs a node keeps', () => {
    expect(lineTime('2026-11-29T07:59:59.500Z runtime 7.0.35 serving on 127.0.0.2:7575')).toBe(CUT - 500);
    expect(lineTime(`{"level":30,"time":${CUT},"msg":"agent started"}`)).toBe(CUT);
    expect(lineTime('{"level":"info","ts":"2026-11-29T08:00:01.000Z","msg":"ready to serve client requests"}')).toBe(CUT + 1000);
    expect(lineTime(`{"level":"info","ts":${CUT / 1000 + 2.5},"msg":"zap epoch seconds"}`)).toBe(CUT + 2500);
    expect(lineTime('2026-11-29 08:00:03,000 INFO something')).toBe(CUT + 3000);
    expect(lineTime('    at Object.<anonymous> (/x.js:1:1)')).toBeUndefined();
    expect(lineTime('{"msg":"no time here"}')).toBeUndefined();
    expect(lineTime('2026-13-45T99:00:00Z not a date')).toBeUndefined();
  });

  it('keeps lines stamped at or after the cutoff with the unstamped lines after them', () => {
    const text = [
      'preamble without a stamp',
      '2026-11-29T07:00:00Z old line',
      'old continuation',
      '2026-11-29T08:00:00Z new line',
      'new continuation',
      '2026-11-29T07:30:00Z late write of an old line',
      '2026-11-29T09:00:00Z newest',
      '',
    ].join('\n');
    const log = logSince(text, CUT);
    expect(log.text).toBe('preamble without a stamp\n2026-11-29T08:00:00Z new line\nnew continuation\n2026-11-29T09:00:00Z newest\n');
    expect(log).toMatchObject({ dropped: 3, total: 7, stamped: true });
    expect(logHeader('/n/runtime/service.log', CUT, log, 0)).toBe(
      '# hoist report: /n/runtime/service.log: lines stamped 2026-11-29T08:00:00.000Z or later (and the unstamped lines that follow them): 3 of 7 lines left out\n',
    );
    expect(logHeader('/n/x.log', CUT, log, 1234)).toContain('; then its oldest 1234 bytes left out to keep the report within its bound\n');
  });

  it('keeps a log without any stamp whole and says so; without a cutoff keeps everything', () => {
    const plain = logSince('a\nb\n', CUT);
    expect(plain).toMatchObject({ text: 'a\nb\n', dropped: 0, stamped: false });
    expect(logHeader('/n/x.log', CUT, plain, 0)).toBe(
      '# hoist report: /n/x.log: not filtered by --since: none of its 2 lines carries a timestamp this report reads\n',
    );
    const all = logSince('2020-01-01T00:00:00Z ancient\n', 0);
    expect(all.text).toBe('2020-01-01T00:00:00Z ancient\n');
    expect(logHeader('/n/x.log', 0, all, 0)).toBe('# hoist report: /n/x.log: every line (no --since)\n');
  });
});
