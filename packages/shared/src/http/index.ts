export { createHttpApp, DEFAULT_REQUEST_TIMEOUT_MS, principalOf, tokenHashOf, type HttpAppOptions } from './app.ts';
export {
  ANONYMOUS,
  authenticate,
  cachedTokenStore,
  type Authenticated,
  type Principal,
  type TokenCacheSizes,
  type TokenStore,
} from './auth.ts';
export { createAuthFailureLimiter, type AuthFailureLimiter, type AuthFailureLimits } from './auth-failures.ts';
export { checkJsonKeys, MAX_JSON_DEPTH, parseJsonBody } from './json-body.ts';
export { errorHandler, isNatsUnavailable, problem, sendProblem, type Problem } from './problem.ts';
