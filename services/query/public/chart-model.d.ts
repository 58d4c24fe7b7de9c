// The types of chart-model.js for the TypeScript that imports it (its unit tests); the page runs
// the JavaScript as it is, with no build step.
import type { ClaimValue } from '@claimtrail/shared/events';

interface Figure {
  low: number | null;
  best: number | null;
  high: number | null;
}
export interface ModelPoint extends Figure {
  claimId: string;
  validFrom: string;
  validTo: string;
  value: ClaimValue;
  status: string;
  seq: number;
}
export type Placed<P> = P & { x: number; x0: number; x1: number };
export interface Band {
  x0: number;
  x1: number | null;
  low: number;
  high: number;
  sources: number;
}

export declare function endSeconds(s: string): number;
export declare const isIncremental: (aggregation: string | null | undefined) => boolean;
export declare function placeOf(
  p: { validFrom: string; validTo: string },
  aggregation: string | null | undefined,
): { x: number; x0: number; x1: number };
export declare function hullOf(points: Figure[]): { low: number; high: number } | null;
export declare function chartModel<P extends ModelPoint, S extends { source: { id: string }; points: P[] }>(
  history: S[],
  o: { aggregation: string | null | undefined; showRetracted: boolean },
): {
  incremental: boolean;
  series: (Omit<S, 'points'> & { points: Placed<P>[] })[];
  xs: number[];
  lines: (number | null | undefined)[][];
  band: Band[];
  yMax: number;
  xRange: [number, number];
};
export declare function xRange(edges: number[]): [number, number];
export declare function compactNumber(n: number): string;
export declare function axisNumbers(splits: (number | null | undefined)[]): string[];
export declare const axisSize: (labels: string[]) => number;
export declare function axisDate(seconds: number, step: number): string;
export declare function spreadCoincident(marks: { x: number; y: number; sid: string }[], step: number): number[];
