import type { EventData } from '@claimtrail/shared/events';
import { ConflictError, PreconditionFailedError, UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import { writeDefinition } from './definition-write.ts';
import type { EventStore } from './event-store.ts';
import type { MetricCatalog } from './metric-catalog.ts';
import type { RequestContext } from './report-submission.ts';

type Definition = EventData<'MetricDefined'>;

/** What an `If-Match` header names: stream seqs (ETags `"<seq>"`), or any definition (`*`). */
export type IfMatch = { any: true } | { any: false; seqs: number[] };

/** Reads `If-Match: "<seq>"` (a list of them, or `*`); anything else is a 400 naming the header. */
export function parseIfMatch(header: string | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { any: true };
  const seqs: number[] = [];
  for (const tag of value.split(',')) {
    const m = /^"([1-9][0-9]{0,15})"$/.exec(tag.trim());
    if (!m) {
      throw new ValidationError(`If-Match must be "<seq>" of the definition in force (its ETag), or *`, [
        { path: 'headers:/if-match', message: 'must be "<seq>", a comma-separated list of them, or *' },
      ]);
    }
    seqs.push(Number(m[1]));
  }
  return { any: false, seqs };
}

const partsOf = (d: { composedOf?: string[] | undefined }) => [...new Set(d.composedOf ?? [])].sort();

/** What a definition changes of the one in force that needs `If-Match`: unit, aggregation, parts. */
function changesOf(inForce: Definition, wanted: Definition): string[] {
  const out: string[] = [];
  if (inForce.unit !== wanted.unit) out.push(`unit ${inForce.unit} → ${wanted.unit}`);
  if (inForce.aggregation !== wanted.aggregation)
    out.push(`aggregation ${inForce.aggregation} → ${wanted.aggregation}`);
  const [before, after] = [partsOf(inForce), partsOf(wanted)];
  if (before.join(',') !== after.join(',')) out.push(`composedOf [${before.join(', ')}] → [${after.join(', ')}]`);
  return out;
}

/** Distinct parts, none of them the metric itself: what the body alone must satisfy. */
function checkParts(body: Definition): void {
  const errors: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  (body.composedOf ?? []).forEach((part, i) => {
    if (part === body.metric)
      errors.push({ path: `/composedOf/${i}`, message: `${part} is the metric itself: it cannot be its own part` });
    else if (seen.has(part)) errors.push({ path: `/composedOf/${i}`, message: `${part} is named twice` });
    seen.add(part);
  });
  if (errors.length > 0) throw invalid(errors);
}

function invalid(errors: { path: string; message: string }[]): ValidationError {
  return new ValidationError(
    `the request body is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
    errors,
  );
}

/** Every part must be defined already, in the composite's unit (read past the catalog's cache). */
async function checkPartDefinitions(catalog: MetricCatalog, body: Definition): Promise<void> {
  const parts = body.composedOf ?? [];
  const defined = await Promise.all(parts.map((p) => catalog.inForceNow(p).then((f) => f?.event.data)));
  const errors: { path: string; message: string }[] = [];
  parts.forEach((part, i) => {
    const d = defined[i];
    if (!d) errors.push({ path: `/composedOf/${i}`, message: `metric ${part} is not defined; define it first` });
    else if (d.unit !== body.unit)
      errors.push({
        path: `/composedOf/${i}`,
        message: `metric ${part} is counted in ${d.unit}, not in ${body.unit} as ${body.metric} is`,
      });
  });
  if (errors.length > 0) throw invalid(errors);
}

/**
 * `POST /v1/metrics`. The definition in force of a metric is the last MetricDefined on its
 * subject, and its seq is its ETag. The same definition again (parts in any order) is a duplicate;
 * a new label alone is written; a change of unit, aggregation or parts is a 409 unless `If-Match`
 * names the definition in force, and a stale `If-Match` is a 412 whatever the change. The write
 * expects the subject's last seq: of two racing redefinitions the second is re-judged against the
 * first (so with the same `If-Match` it is a 412). Its msgID names that seq, so defining A, then
 * B, then A again stores A twice instead of JetStream taking it for a repeat.
 */
export async function defineMetric(
  store: EventStore,
  catalog: MetricCatalog,
  body: Definition,
  ifMatch: IfMatch | undefined,
  ctx: Pick<RequestContext, 'actor' | 'requestId' | 'now'>,
): Promise<{ seq: number; duplicate: boolean }> {
  checkParts(body);
  // Keys in canonical (sorted) order.
  const data: Definition = {
    aggregation: body.aggregation,
    ...(body.composedOf === undefined ? {} : { composedOf: body.composedOf }),
    label: body.label,
    metric: body.metric,
    unit: body.unit,
  };
  const subject = store.subjects.metric(body.metric);
  let partsChecked = false;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const { lastSeq, found } = await store.lastOfType(subject, 'MetricDefined');
    const inForce = found?.event.data;
    const changes = inForce ? changesOf(inForce, data) : [];
    if (found && inForce && changes.length === 0 && inForce.label === data.label)
      return { seq: found.seq, duplicate: true };
    if (ifMatch && !(ifMatch.any ? found !== undefined : found !== undefined && ifMatch.seqs.includes(found.seq))) {
      throw new PreconditionFailedError(
        found
          ? `If-Match does not name the definition in force of ${body.metric}: it is "${found.seq}"`
          : `metric ${body.metric} has no definition in force for If-Match to name`,
      );
    }
    if (!partsChecked) {
      await checkPartDefinitions(catalog, data);
      partsChecked = true;
    }
    if (found && changes.length > 0 && !ifMatch) {
      throw new ConflictError(
        `this redefines ${body.metric} (${changes.join('; ')}): send If-Match: "${found.seq}", the definition in force, to confirm`,
      );
    }
    const { outcome: out, event } = await writeDefinition(store, ctx, {
      type: 'MetricDefined',
      subject,
      data,
      lastSeq,
    });
    if (out.ok) {
      catalog.remember(body.metric, { seq: out.seq, event });
      return { seq: out.seq, duplicate: out.duplicate };
    }
  }
  throw new UnavailableError(`metric ${body.metric} is being defined by others; retry`, 1);
}
