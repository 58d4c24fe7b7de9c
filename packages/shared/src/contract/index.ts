export * from './reports.ts';
export * from './queries.ts';
