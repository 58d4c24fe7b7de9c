export { createHttpApp, principalOf, type HttpAppOptions } from './app.ts';
export { ANONYMOUS, authenticate, cachedTokenStore, type Principal, type TokenStore } from './auth.ts';
export { errorHandler, isNatsUnavailable, problem, sendProblem, type Problem } from './problem.ts';
