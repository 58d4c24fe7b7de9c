export * from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export { ensureHeapLimits, loadConfigOrExit, onShutdown, redactUrl, startOrExit } from './process.ts';
