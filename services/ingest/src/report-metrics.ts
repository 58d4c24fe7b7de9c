import type { PostReportRequest } from '@claimtrail/shared/contract';
import { ValidationError } from '@claimtrail/shared/errors';
import type { MetricCatalog, MetricInForce } from './metric-catalog.ts';
import { newMetricMessage, similarNames } from './similar-names.ts';

/** A metric a report names, at its first claim. */
export interface ReportMetric {
  metric: string;
  /** The unit of its first claim: the unit a new metric is defined in. */
  unit: string;
  /** The index of its first claim. */
  claim: number;
  /** Its place among the report's distinct metrics, in order of first mention (its event index). */
  position: number;
}

export interface ReportMetrics {
  /** The metrics nobody defined: the report defines them. */
  fresh: ReportMetric[];
  /** The metrics defined, with their definitions in force. */
  defined: { metric: ReportMetric; inForce: NonNullable<MetricInForce> }[];
}

/**
 * Checks each claim's unit against its metric's: the definition in force, or for a metric nobody
 * defined, the unit of the report's first claim on it (which defines it). A 400 names every claim
 * at fault at `/claims/<i>/unit` with both units. One read per distinct metric, from the catalog.
 */
export async function checkReportMetrics(catalog: MetricCatalog, body: PostReportRequest): Promise<ReportMetrics> {
  const firsts = new Map<string, ReportMetric>();
  body.claims.forEach((c, i) => {
    if (!firsts.has(c.metric))
      firsts.set(c.metric, { metric: c.metric, unit: c.unit, claim: i, position: firsts.size });
  });
  const inForce = await catalog.inForce([...firsts.keys()]);
  const errors: { path: string; message: string }[] = [];
  body.claims.forEach((c, i) => {
    const d = inForce.get(c.metric)?.event.data;
    const first = firsts.get(c.metric)!;
    if (d && c.unit !== d.unit)
      errors.push({ path: `/claims/${i}/unit`, message: `metric ${c.metric} is counted in ${d.unit}, not ${c.unit}` });
    else if (!d && c.unit !== first.unit)
      errors.push({
        path: `/claims/${i}/unit`,
        message: `metric ${c.metric} is new, and claim ${first.claim} defines it in ${first.unit}, not ${c.unit}`,
      });
  });
  if (errors.length > 0)
    throw new ValidationError(
      `the request body is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      errors,
    );
  const fresh: ReportMetric[] = [];
  const defined: ReportMetrics['defined'] = [];
  for (const m of firsts.values()) {
    const found = inForce.get(m.metric);
    if (found) defined.push({ metric: m, inForce: found });
    else fresh.push(m);
  }
  return { fresh, defined };
}

/** A warning for each metric the report defined, at its first claim, naming defined metrics with similar names. */
export async function newMetricWarnings(
  catalog: MetricCatalog,
  defines: readonly ReportMetric[],
): Promise<{ path: string; message: string }[]> {
  if (defines.length === 0) return [];
  const names = await catalog.definedNames();
  const mine = new Set(defines.map((m) => m.metric));
  const others = [...names].filter((n) => !mine.has(n));
  return [...defines]
    .sort((a, b) => a.claim - b.claim)
    .map((m) => ({
      path: `/claims/${m.claim}/metric`,
      message: newMetricMessage(m.metric, similarNames(m.metric, others)),
    }));
}
