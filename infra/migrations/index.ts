// The migration sets, in order. A migration takes the Postgres schema it works in.
import type { Kysely } from 'kysely';
import * as meta0001 from './0001-meta.ts';
import * as rm0001 from './0001-read-models.ts';
import * as rm0002 from './0002-projector-lease.ts';
import * as rm0003 from './0003-fold-rule.ts';
import * as rm0004 from './0004-sources-said.ts';
import * as rm0005 from './0005-published-to.ts';
import * as rm0006 from './0006-history-order.ts';

export type SchemaMigration = { up(db: Kysely<unknown>, schema: string): Promise<void> };

/** Tables shared by every read-model schema: tokens and the active-schema pointer. */
export const metaMigrations: Record<string, SchemaMigration> = {
  '0001-meta': meta0001,
};

/** Tables of one read-model schema (the live one, or a replay target). */
export const readModelMigrations: Record<string, SchemaMigration> = {
  '0001-read-models': rm0001,
  '0002-projector-lease': rm0002,
  '0003-fold-rule': rm0003,
  '0004-sources-said': rm0004,
  '0005-published-to': rm0005,
  '0006-history-order': rm0006,
};
