import { describe, expect, it } from 'vitest';
import { decodeLine, LineSplitter } from '../../../src/agent/framing.js';
import { requestSchema } from '../../../src/agent/protocol.js';

function split(max: number, chunks: string[]): Array<string | 'OVERSIZE'> {
  const seen: Array<string | 'OVERSIZE'> = [];
  const splitter = new LineSplitter(
    max,
    (l) => seen.push(l),
    () => seen.push('OVERSIZE'),
  );
  for (const c of chunks) splitter.push(Buffer.from(c));
  return seen;
}

describe('agent framing', () => {
  describe('LineSplitter', () => {
    it('joins lines split across chunks and splits chunks holding several lines', () => {
      expect(split(100, ['ab', 'c\nde', 'f\n\ng\n', 'h'])).toEqual(['abc', 'def', 'g']);
    });

    it('keeps a multi-byte character split across chunks whole', () => {
      const bytes = Buffer.from('é\n');
      const seen: string[] = [];
      const splitter = new LineSplitter(
        10,
        (l) => seen.push(l),
        () => undefined,
      );
      splitter.push(bytes.subarray(0, 1));
      splitter.push(bytes.subarray(1));
      expect(seen).toEqual(['é']);
    });

    it('reports an oversized line once and resumes at the next line', () => {
      expect(split(5, ['123', '456', '789\nok\n'])).toEqual(['OVERSIZE', 'ok']);
      expect(split(5, ['1234567\nok\n'])).toEqual(['OVERSIZE', 'ok']);
      expect(split(5, ['12345\n'])).toEqual(['12345']);
    });
  });

  describe('decodeLine', () => {
    it('accepts a valid request and applies defaults', () => {
      const decoded = decodeLine('{"v":1,"id":"a","type":"run","action":"facts","operationId":"","phaseId":""}', requestSchema, 'request');
      expect(decoded).toEqual({
        ok: true,
        value: { v: 1, id: 'a', type: 'run', action: 'facts', params: {}, operationId: '', phaseId: '', epoch: 0, attempt: '', step: '' },
      });
    });

    it('says what was wrong', () => {
      expect(decodeLine('[1]', requestSchema, 'request')).toMatchObject({
        ok: false,
        id: '',
        error: { code: 'ERR_AGENT_BAD_MESSAGE', message: 'request is not a JSON object' },
      });
      expect(decodeLine('{"id":"a"}', requestSchema, 'request')).toMatchObject({
        ok: false,
        id: 'a',
        error: { code: 'ERR_AGENT_PROTOCOL', message: expect.stringMatching(/no protocol version/) },
      });
      const missing = decodeLine('{"v":1,"id":"b","type":"attach","operationId":"","phaseId":""}', requestSchema, 'request');
      expect(missing).toMatchObject({
        ok: false,
        id: 'b',
        error: { code: 'ERR_AGENT_BAD_MESSAGE', details: [expect.stringMatching(/^execution: /)] },
      });
    });
  });
});
