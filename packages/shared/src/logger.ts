import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';

/** `json`: one JSON object a line, for collectors. `human`: one readable line an entry, for a terminal. */
export type LogFormat = 'json' | 'human';

/**
 * `human` when the logs go to standard output and that is a terminal, `json` otherwise. File
 * descriptor 1 is asked rather than `process.stdout`, because a worker thread's `process.stdout`
 * is a pipe to the main thread even when both end on the terminal.
 */
export function defaultLogFormat(destination?: DestinationStream): LogFormat {
  return destination === undefined && isatty(1) ? 'human' : 'json';
}

/**
 * A pino logger. Secrets (Authorization headers, tokens) are redacted wherever they appear, in
 * either format. Without a destination it writes to standard output.
 */
export function createLogger(
  name: string,
  level: string,
  destination?: DestinationStream,
  format: LogFormat = defaultLogFormat(destination),
): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
      censor: '[redacted]',
    },
  };
  if (format === 'human') {
    const target = destination ?? pino.destination(1);
    return pino(options, { write: (line: string) => void target.write(formatLogLine(line)) });
  }
  return destination ? pino(options, destination) : pino(options);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every entry has or that the line shows in its own place. */
const SHOWN_APART = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'err']);

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One of pino's JSON lines as a line for people: `13:29:26.996Z INFO  ingest: listening port=8081`,
 * then an error's stack, indented. A line that is not a JSON object passes through as it is.
 */
export function formatLogLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${line.trimEnd()}\n`;
  const e = entry as Record<string, unknown>;
  const time = typeof e.time === 'number' ? new Date(e.time).toISOString().slice(11) : '';
  const level = typeof e.level === 'number' ? (LEVELS[e.level] ?? String(e.level)).padEnd(5) : '';
  const name = typeof e.name === 'string' ? `${e.name}: ` : '';
  const fields = Object.entries(e)
    .filter(([k]) => !SHOWN_APART.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  const head = [time, level, `${name}${typeof e.msg === 'string' ? e.msg : ''}`, ...fields]
    .filter((part) => part !== '')
    .join(' ');
  return `${head}${errorText(e.err)}\n`;
}

/** An error as pino's serializer gives it: its stack (or type and message), indented under the line. */
function errorText(err: unknown): string {
  if (err === undefined || err === null) return '';
  if (typeof err !== 'object') return `\n    err: ${fieldText(err)}`;
  const { stack, type, message } = err as { stack?: unknown; type?: unknown; message?: unknown };
  const head = `${typeof type === 'string' ? type : 'Error'}: ${typeof message === 'string' ? message : fieldText(message)}`;
  const text = typeof stack === 'string' ? stack : head;
  return text
    .split('\n')
    .map((l) => `\n    ${l}`)
    .join('');
}

export type { Logger } from 'pino';
