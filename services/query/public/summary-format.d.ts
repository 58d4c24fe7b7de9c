// The types of summary-format.js for the TypeScript that imports it (its unit tests); the page
// runs the JavaScript as it is, with no build step.
interface SourceRef {
  id: string;
  name?: string | undefined;
}
interface Check {
  componentSource: SourceRef;
  compositeSource: SourceRef;
  status: string;
  exceeding: string[];
  componentClaims: { claimId: string; metric: string; statedAt: string }[];
  compositeClaim: { statedAt: string };
}
interface SourcePair {
  componentSource: SourceRef;
  compositeSource: SourceRef;
  checks: number;
  unaligned: number;
}
export interface CheckGroup<C extends Check> {
  componentSource: SourceRef;
  compositeSource: SourceRef;
  checks: C[];
  unaligned: number;
}
interface ClaimRef {
  source: SourceRef;
  statedAt: string;
  low: number | null;
  high: number | null;
}
interface Conflict {
  a: ClaimRef;
  b: ClaimRef;
  gap: number;
  days: number;
}

export declare function checkGroups<C extends Check>(m: {
  checks: C[];
  sourcePairs?: SourcePair[] | undefined;
}): CheckGroup<C>[];
export declare const pairParts: (g: {
  componentSource: SourceRef;
  compositeSource: SourceRef;
}) => (string | SourceRef)[];
export declare const pairText: (g: { componentSource: SourceRef; compositeSource: SourceRef }) => string;
export declare const unalignedText: (n: number, toleranceDays: number) => string;
export declare function exceedsText(c: Check): string;
export declare function statedText(c: Check): string;
export declare function leftOffText(m: {
  checksLeftOff: number;
  sourcePairsLeftOff: number;
  compositesNotPaired: number;
}): string | null;
export declare const conflictParts: (c: Conflict) => (string | SourceRef)[];
export declare const conflictText: (c: Conflict) => string;
