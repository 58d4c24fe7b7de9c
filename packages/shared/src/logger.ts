import { pino, type DestinationStream, type Logger } from 'pino';

/** JSON logs; secrets (Authorization headers, tokens) are redacted wherever they appear. */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
export type { Logger } from 'pino';
