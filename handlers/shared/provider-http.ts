/**
 * The {@link RetryingHttp} every identity provider's read client uses (Okta, Auth0): the same
 * retry policy, a rate window read from epoch-seconds headers, one credential refresh on 401,
 * and the provider's own error classes for what fails.
 */
import { type Answer, RetryingHttp, sleep } from "./http.js";
import type { Pacer } from "./pacer.js";
import { type EpochRateHeaders, epochRateWindow, retryAfterEpochReset } from "./rate-headers.js";

/** What a provider client's caller may tune; every field has a default. */
export interface ProviderHttpOptions {
  /** Per-request timeout. @default 5000 */
  readonly timeoutMs?: number;
  /** Retries of a 5xx, a network failure, or a 429 whose reset is soon enough. @default 3 */
  readonly maxRetries?: number;
  /** The longest wait for a rate-limit reset in-process; longer goes back to SQS. @default 20000 */
  readonly maxRateLimitWaitMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** Called with every answered status, for metrics. */
  readonly onResponse?: (status: number) => void;
  /** Paces requests under this container's share of the provider's rate limit. @default none */
  readonly pacer?: Pacer;
}

/** The provider's own headers and error classes. */
export interface ProviderApi {
  /** The provider's epoch-seconds rate headers; absent when it has none (Graph, Google). */
  readonly rateHeaders?: EpochRateHeaders;
  /** How long a 429 asks to wait, when the provider says it otherwise. @default from `rateHeaders` */
  readonly retryAfter?: (headers: Headers, now: number) => number | undefined;
  /** The credential was refused: the next one must not come from a cache. */
  readonly refresh: () => void;
  /** No answer, or no time left for one. */
  readonly networkError: (operation: string, message: string, cause?: unknown) => Error;
  /** 401 or 403 even with a fresh credential. */
  readonly authError: (operation: string, status: number, answer: Answer) => Error;
  /** Any other non-2xx status. */
  readonly apiError: (operation: string, status: number, answer: Answer) => Error;
}

export function providerHttp(options: ProviderHttpOptions, api: ProviderApi): RetryingHttp {
  const { onResponse } = options;
  return new RetryingHttp({
    timeoutMs: options.timeoutMs ?? 5_000,
    retry: {
      maxRetries: options.maxRetries ?? 3,
      baseDelayMs: 250,
      maxDelayMs: 4_000,
      maxRetryAfterMs: options.maxRateLimitWaitMs ?? 20_000,
      jitter: 0.2,
    },
    // The provider says when its window resets (epoch seconds), and on every answer what is left of it.
    retryAfter: api.retryAfter ?? (api.rateHeaders ? retryAfterEpochReset(api.rateHeaders) : () => undefined),
    rateWindow: api.rateHeaders ? epochRateWindow(api.rateHeaders) : undefined,
    pacer: options.pacer,
    refresh: api.refresh,
    failures: {
      network: (operation, message, timedOut, cause) =>
        api.networkError(
          operation,
          `request failed before an answer (${timedOut ? "timeout" : message})`,
          cause,
        ),
      deadline: (operation, message) => api.networkError(operation, message),
      status: (operation, answer) =>
        answer.status === 401 || answer.status === 403
          ? api.authError(operation, answer.status, answer)
          : api.apiError(operation, answer.status, answer),
    },
    fetch: options.fetch ?? globalThis.fetch,
    sleep: options.sleep ?? sleep,
    now: options.now ?? Date.now,
    random: Math.random,
    onResponse: onResponse && ((event) => onResponse(event.status)),
  });
}
