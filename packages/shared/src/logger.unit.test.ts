import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFormat, formatLogLine } from './logger.ts';

const secrets = {
  req: { headers: { authorization: 'Bearer ct_secret' } },
  token: 'ct_secret2',
  authorization: 'Bearer ct_secret3',
};

function sink() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

describe('logs', () => {
  it('are JSON lines with secrets redacted', () => {
    const { lines, destination } = sink();
    const log = createLogger('t', 'info', destination);
    log.info(secrets, 'hello');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ name: 't', msg: 'hello', token: '[redacted]', authorization: '[redacted]' });
    expect(lines[0]).not.toContain('ct_secret');
  });

  it('are JSON whenever a destination is given, and human-readable only on a terminal', () => {
    expect(defaultLogFormat({ write: () => undefined })).toBe('json');
    // Under vitest, file descriptor 1 of a test worker is never a terminal.
    expect(defaultLogFormat()).toBe('json');
  });

  it('read as one line an entry in the human format, secrets still redacted', () => {
    const { lines, destination } = sink();
    const log = createLogger('ingest', 'info', destination, 'human');
    log.child({ process: 2 }).warn({ ...secrets, port: 8081, schema: 'claimtrail rm' }, 'listening');
    log.debug('not at this level');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}Z WARN  ingest: listening process=2 req=\{"headers":\{"authorization":"\[redacted\]"\}\} token=\[redacted\] authorization=\[redacted\] port=8081 schema="claimtrail rm"\n$/,
    );
    expect(lines[0]).not.toContain('ct_secret');
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });

  it('put an error stack under its line in the human format', () => {
    const { lines, destination } = sink();
    const log = createLogger('projector', 'info', destination, 'human');
    log.error({ err: new TypeError('no such table') }, 'batch failed');
    const [head, ...stack] = lines[0]!.trimEnd().split('\n');
    expect(head).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z ERROR projector: batch failed$/);
    expect(stack[0]).toBe('    TypeError: no such table');
    expect(stack.length).toBeGreaterThan(1);
    expect(stack.every((l) => l.startsWith('    '))).toBe(true);
  });

  it('format a pino line by its fields, and pass anything else through', () => {
    const time = Date.parse('2026-01-02T03:04:05.678Z');
    expect(
      formatLogLine(`${JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', name: 'query', msg: 'ready' })}\n`),
    ).toBe('03:04:05.678Z INFO  query: ready\n');
    expect(
      formatLogLine(JSON.stringify({ level: 60, time, msg: 'stopped', err: { type: 'Error', message: 'gone' } })),
    ).toBe('03:04:05.678Z FATAL stopped\n    Error: gone\n');
    expect(formatLogLine('{"msg":"no level","schema":"claimtrail_rm"}\n')).toBe('no level schema=claimtrail_rm\n');
    expect(formatLogLine('plain text\n')).toBe('plain text\n');
    expect(formatLogLine('[1,2]')).toBe('[1,2]\n');
  });
});
