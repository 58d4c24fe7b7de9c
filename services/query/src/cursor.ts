// Page cursors: where the next page starts, as opaque text. A cursor is a position in the answer's
// order (keyset), not an offset, so a page costs the same wherever it starts and a row added
// before the position does not shift later pages.
import { z } from 'zod';
import { ValidationError } from '@claimtrail/shared/errors';

const topicsPosition = z.strictObject({ k: z.literal('topics'), after: z.string().min(1).max(64) });
const metricsPosition = z.strictObject({ k: z.literal('metrics'), after: z.string().min(1).max(64) });
const historyPosition = z.strictObject({
  k: z.literal('history'),
  /** stated_from of the last point, to the microsecond, as Postgres prints it in UTC. */
  statedFrom: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
  seq: z.number().int().min(0),
});
const sourcesPosition = z.strictObject({ k: z.literal('sources'), after: z.string().min(1).max(64) });
/**
 * A source's points are in (topic, metric, statedFrom, seq) order: after a point of a series, or
 * (without statedFrom and seq) from the start of a series.
 */
const sourcePointsPosition = z.strictObject({
  k: z.literal('source'),
  topic: z.string().min(1).max(64),
  metric: z.string().min(1).max(64),
  statedFrom: historyPosition.shape.statedFrom.optional(),
  seq: z.number().int().min(0).optional(),
});
const position = z.discriminatedUnion('k', [
  topicsPosition,
  metricsPosition,
  historyPosition,
  sourcesPosition,
  sourcePointsPosition,
]);

export type TopicsPosition = z.infer<typeof topicsPosition>;
export type HistoryPosition = z.infer<typeof historyPosition>;
type Position = z.infer<typeof position>;

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

function invalid(): ValidationError {
  return new ValidationError('cursor is not one this endpoint gave: pass a nextCursor as it came', [
    { path: 'query:/cursor', message: 'invalid cursor' },
  ]);
}

/** The position a cursor names, if it is one of `kind`'s; else a 400 naming `query:/cursor`. */
export function decodeCursor<K extends Position['k']>(kind: K, cursor: string): Extract<Position, { k: K }> {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const r = position.safeParse(parsed);
  if (!r.success || r.data.k !== kind) throw invalid();
  return r.data as Extract<Position, { k: K }>;
}
