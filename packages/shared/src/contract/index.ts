export * from './reports.ts';
export * from './queries.ts';
export * from './sources.ts';
