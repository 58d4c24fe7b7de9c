/** Base of every expected claimtrail failure. `code` is stable; HTTP status is chosen at the edge. */
export class ClaimtrailError extends Error {
  readonly code: string;
  readonly details: { path: string; message: string }[] | undefined;
  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; details?: { path: string; message: string }[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClaimtrailError';
    this.code = code;
    this.details = options?.details;
  }
}
export class ConfigError extends ClaimtrailError {
  constructor(message: string) {
    super('config_invalid', message);
    this.name = 'ConfigError';
  }
}
export class ValidationError extends ClaimtrailError {
  constructor(message: string, details?: { path: string; message: string }[]) {
    super('validation_failed', message, details ? { details } : undefined);
    this.name = 'ValidationError';
  }
}
export class NotFoundError extends ClaimtrailError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}
export class ConflictError extends ClaimtrailError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}
/** A conditional write named a version (If-Match) that is no longer the one in force. */
export class PreconditionFailedError extends ClaimtrailError {
  constructor(message: string) {
    super('precondition_failed', message);
    this.name = 'PreconditionFailedError';
  }
}
export class UnavailableError extends ClaimtrailError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS = 1, cause?: unknown) {
    super('unavailable', message, { cause });
    this.name = 'UnavailableError';
    this.retryAfterS = retryAfterS;
  }
}
export class AuthError extends ClaimtrailError {
  constructor(code: 'unauthenticated' | 'forbidden', message: string) {
    super(code, message);
    this.name = 'AuthError';
  }
}
/** The body is in a form the service does not read (a media type or charset other than UTF-8 JSON). */
export class UnsupportedMediaTypeError extends ClaimtrailError {
  constructor(message: string, details?: { path: string; message: string }[]) {
    super('unsupported_media_type', message, details ? { details } : undefined);
    this.name = 'UnsupportedMediaTypeError';
  }
}
/** The caller made too many requests (or failed too many authentications); retry after `retryAfterS`. */
export class RateLimitedError extends ClaimtrailError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    super('rate_limited', message);
    this.name = 'RateLimitedError';
    this.retryAfterS = retryAfterS;
  }
}
