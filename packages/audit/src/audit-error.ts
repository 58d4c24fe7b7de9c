import { ClaimtrailError } from '@claimtrail/shared/errors';

/**
 * An audit operation refused or failed for a reason the operator can act on, said in one line.
 * `usage`: an argument was wrong (the CLI exits 2 for it, 1 otherwise).
 */
export class AuditError extends ClaimtrailError {
  readonly usage: boolean;
  constructor(message: string, o: { usage?: boolean } = {}) {
    super(o.usage ? 'audit_usage' : 'audit_failed', message);
    this.name = 'AuditError';
    this.usage = o.usage ?? false;
  }
}
