import { pino, type Logger } from 'pino';

/** JSON logs; secrets (Authorization headers, tokens) are redacted wherever they appear. */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
}
export type { Logger } from 'pino';
