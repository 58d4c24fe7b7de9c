/**
 * Names near `name` among `candidates`: within an edit distance of 2 (a typo: "kiled" for
 * "killed"), or one a prefix of the other ("killed" and "killed_or_wounded"). Closest first, then
 * alphabetical; at most `max`.
 */
export function similarNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const near: { name: string; distance: number }[] = [];
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistanceWithin(name, c, 2);
    if (d !== undefined) near.push({ name: c, distance: d });
    else if (c.startsWith(name) || name.startsWith(c))
      near.push({ name: c, distance: Math.abs(c.length - name.length) });
  }
  near.sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return near.slice(0, max).map((n) => n.name);
}

/**
 * The Levenshtein distance of `a` and `b` when it is at most `limit`, else undefined: a row of the
 * table at a time, given up as soon as a whole row exceeds the limit.
 */
export function editDistanceWithin(a: string, b: string, limit: number): number | undefined {
  if (Math.abs(a.length - b.length) > limit) return undefined;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      row.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return undefined;
    prev = row;
  }
  const d = prev[b.length]!;
  return d <= limit ? d : undefined;
}

/** The warning of a claim that defined its metric: the contract's wording. */
export function newMetricMessage(metric: string, similar: readonly string[]): string {
  if (similar.length === 0) return `new metric ${metric}`;
  if (similar.length === 1) return `new metric ${metric}; a defined metric with a similar name: ${similar[0]}`;
  return `new metric ${metric}; defined metrics with similar names: ${similar.join(', ')}`;
}
