/**
 * Rate-limit headers that give the window's reset as epoch seconds (Okta's `X-Rate-Limit-*`,
 * Auth0's `X-RateLimit-*`): how long a 429 asks to wait, and what every answer says is left, in
 * the shapes {@link RetryingHttp} and the pacer take.
 */
import type { RateWindow } from "./pacer.js";

/** The header names of one API, lower-cased. */
export interface EpochRateHeaders {
  readonly remaining: string;
  readonly reset: string;
}

/** A 429's wait until the reset, a little more for clock skew; a second when the API does not say. */
export function retryAfterEpochReset(names: EpochRateHeaders) {
  return (headers: Headers, now: number): number => {
    const header = headers.get(names.reset)?.trim();
    const reset = header ? Number(header) : Number.NaN;
    return Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) + 250 : 1_000;
  };
}

/** What is left of the window and when it resets, when the answer says both. */
export function epochRateWindow(names: EpochRateHeaders) {
  return (headers: Headers, now: number): RateWindow | undefined => {
    const remaining = Number.parseInt(headers.get(names.remaining) ?? "", 10);
    const reset = Number(headers.get(names.reset)?.trim() || Number.NaN);
    if (Number.isNaN(remaining) || !Number.isFinite(reset)) return undefined;
    return { remaining, resetMs: Math.max(1_000, reset * 1000 - now) };
  };
}
