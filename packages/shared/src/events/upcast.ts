import { envelopeSchema, eventSchemas, type ClaimtrailEvent, type EventType, type RawEnvelope } from './schemas.ts';

/** Turns `data` of version `from` of a type into version `from + 1`. */
export type UpcastStep = (data: unknown) => unknown;
/** Steps by type, then by the version they start from. */
export type UpcastRegistry = Partial<Record<string, Record<number, UpcastStep>>>;

/** Version 2 only adds optional fields (and a wider enum): a version 1 `data` is a valid version 2 `data`. */
const unchanged: UpcastStep = (data) => data;

/**
 * Steps of the live schemas: when a type gets a new version, its step from the one before goes
 * here and every reader (ingest, projector, replay, export) picks it up.
 */
export const upcastSteps: UpcastRegistry = {
  ReportSubmitted: { 1: unchanged },
  ClaimRecorded: { 1: unchanged },
  ClaimCited: { 1: unchanged },
  ClaimCorrected: { 1: unchanged },
};

export type DecodeResult = { ok: true; event: ClaimtrailEvent } | { ok: false; reason: string };

function isEventType(t: string): t is EventType {
  return Object.hasOwn(eventSchemas, t);
}

/**
 * The one decoding pipeline: parse the envelope, upcast its data step by step to the current
 * version, and validate. Failure is a value (the caller parks the event), never a throw.
 */
export function decodeEvent(raw: unknown, steps: UpcastRegistry = upcastSteps): DecodeResult {
  const env = envelopeSchema.safeParse(raw);
  if (!env.success) return { ok: false, reason: `envelope invalid: ${issuesText(env.error.issues)}` };
  return upcastEnvelope(env.data, steps);
}

export function upcastEnvelope(env: RawEnvelope, steps: UpcastRegistry = upcastSteps): DecodeResult {
  if (!isEventType(env.type)) return { ok: false, reason: `unknown event type ${env.type}` };
  const target = eventSchemas[env.type];
  let { version } = env;
  let data = env.data;
  if (version > target.version)
    return { ok: false, reason: `${env.type} v${version} is newer than this reader (v${target.version})` };
  while (version < target.version) {
    const step = steps[env.type]?.[version];
    if (!step) return { ok: false, reason: `no upcaster for ${env.type} v${version}` };
    data = step(data);
    version += 1;
  }
  const parsed = target.data.safeParse(data);
  if (!parsed.success)
    return { ok: false, reason: `${env.type} v${version} data invalid: ${issuesText(parsed.error.issues)}` };
  return { ok: true, event: { ...env, version, data: parsed.data } as ClaimtrailEvent };
}

function issuesText(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}
