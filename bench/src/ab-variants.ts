// The variants of `npm run bench:ab` (ab.ts) and what the collector printed for each.
import { projectorHeapFlags } from '../../services/projector/src/heap.ts';

export interface Variant {
  name: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

export function parseVariant(spec: string, gc: boolean): Variant {
  const at = spec.indexOf('=');
  if (at <= 0 || !/^\w[\w.-]*$/.test(spec.slice(0, at)))
    throw new Error(`--variant ${JSON.stringify(spec)}: expected <name>=<flags>`);
  const tokens = spec
    .slice(at + 1)
    .split(' ')
    .filter(Boolean);
  const env: Record<string, string> = {};
  const nodeArgs = [...projectorHeapFlags, ...(gc ? ['--trace-gc-nvp'] : [])];
  for (const t of tokens) {
    const m = /^env:([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(t);
    if (m) env[m[1]!] = m[2]!;
    else if (t.startsWith('--')) nodeArgs.push(t);
    else throw new Error(`--variant ${spec.slice(0, at)}: ${JSON.stringify(t)} is neither a --flag nor env:NAME=value`);
  }
  return { name: spec.slice(0, at), nodeArgs, env };
}

/** What --trace-gc-nvp printed during one catch-up, summed. */
export function gcSummary(stdout: string): string {
  let scavenges = 0;
  let promoted = 0;
  let survived = 0;
  let markCompacts = 0;
  let live = 0;
  const field = (line: string, k: string) => Number(new RegExp(`(?:^| )${k}=([0-9.]+)`).exec(line)?.[1] ?? 0);
  for (const line of stdout.split('\n')) {
    const kind = / gc=(\w+) /.exec(line)?.[1];
    if (kind === undefined) continue;
    if (kind === 's') {
      scavenges += 1;
      promoted += field(line, 'promoted');
      survived += field(line, 'new_space_survived');
    } else if (kind === 'mc') {
      markCompacts += 1;
      live += field(line, 'end_object_size');
    }
  }
  const mb = (b: number) => (b / 1e6).toFixed(0);
  return (
    `scavenges ${scavenges} (promoted ${mb(promoted)} MB, survived ${mb(survived)} MB), ` +
    `mark-compacts ${markCompacts} (live after ${markCompacts ? mb(live / markCompacts) : '-'} MB)`
  );
}
