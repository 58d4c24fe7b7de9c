import { readFile } from 'node:fs/promises';
import type { CliConfig } from '../config.ts';
import { CliError } from '../runtime.ts';

interface PostAnswer {
  reportId: string;
  duplicate: boolean;
  lastSeq: number;
  claims: { claimId: string; echo: boolean; seq: number }[];
}

/** Posts report files to ingest, one after the other; prints the claim ids and seqs. */
export async function postFiles(
  config: CliConfig,
  files: string[],
  o: { token?: string; url?: string; idempotencyKey?: string; json: boolean; out: (s: string) => void },
): Promise<{ failures: number }> {
  const token = o.token ?? config.CLAIMTRAIL_TOKEN;
  if (!token)
    throw new CliError(
      'no token: pass --token or set CLAIMTRAIL_TOKEN (create one with `claimtrail token create --scope report:write`)',
      2,
    );
  const base = o.url ?? config.CLAIMTRAIL_INGEST_URL;
  let failures = 0;
  for (const [i, file] of files.entries()) {
    let body: string;
    try {
      body = await readFile(file, 'utf8');
      JSON.parse(body);
    } catch (err) {
      o.out(`${file}: cannot read a JSON document: ${(err as Error).message}`);
      failures += 1;
      continue;
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    if (o.idempotencyKey) headers['idempotency-key'] = files.length > 1 ? `${o.idempotencyKey}-${i}` : o.idempotencyKey;
    let res: Response;
    try {
      res = await fetch(`${base}/v1/reports`, { method: 'POST', headers, body });
    } catch (err) {
      throw new CliError(
        `cannot reach ingest at ${base} (set CLAIMTRAIL_INGEST_URL or --url): ${(err as Error).message}`,
      );
    }
    const answer = (await res.json().catch(() => ({}))) as PostAnswer & {
      detail?: string;
      errors?: { path: string; message: string }[];
    };
    if (!res.ok) {
      failures += 1;
      o.out(`${file}: ${res.status} ${answer.detail ?? res.statusText}`);
      for (const e of answer.errors ?? []) o.out(`  ${e.path}: ${e.message}`);
      continue;
    }
    if (o.json) {
      o.out(JSON.stringify({ file, status: res.status, ...answer }));
      continue;
    }
    o.out(
      `${file}: report ${answer.reportId}${answer.duplicate ? ' (duplicate: already stored, nothing new)' : ''}, last seq ${answer.lastSeq}`,
    );
    for (const c of answer.claims)
      o.out(`  ${c.claimId}  seq ${c.seq}${c.echo ? '  (echo of an existing claim)' : ''}`);
  }
  return { failures };
}
