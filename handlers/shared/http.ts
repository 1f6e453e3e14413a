/**
 * HTTP with retries and a deadline, for every API client here (Tallyfy, and each identity
 * provider's). The loop knows what every such API shares: a per-request timeout cut to the time
 * left, exponential backoff with jitter, one credential refresh on 401, a 429's wait (by whatever
 * header the API uses) that holds back every request of the client, and never repeating a write
 * that may have run. What each API's errors look like stays with its client, through
 * {@link HttpFailures}.
 */

import { outOfTime } from "./errors.js";
import type { Pacer, RateWindow } from "./pacer.js";

/** How hard to try before giving the work back to SQS. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** First backoff delay; doubles on each retry. */
  readonly baseDelayMs: number;
  /** Largest backoff delay. */
  readonly maxDelayMs: number;
  /**
   * The longest rate-limit wait served in-process. A longer one is handed back to SQS as a
   * transient failure, so the Lambda is not billed for sleeping.
   */
  readonly maxRetryAfterMs: number;
  /** Backoff is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
}

/** A response, read. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** What each answered request reports, for metrics and logs. Never carries a credential. */
export interface ResponseEvent {
  readonly operation: string;
  readonly method: string;
  readonly status: number;
  readonly attempt: number;
  readonly durationMs: number;
}

/** The API's own error classes, built by its client. */
export interface HttpFailures {
  /** No answer: refused, reset, DNS, TLS, or the timeout (`timedOut`). */
  network(operation: string, message: string, timedOut: boolean, cause: unknown): Error;
  /** The deadline left no room for another attempt. */
  deadline(operation: string, message: string): Error;
  /** A status that is not an answer, once no retry is left (or none is allowed). */
  status(operation: string, answer: Answer, retryAfterMs: number | undefined): Error;
}

export interface RetryingHttpOptions {
  /** Per-request timeout. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly failures: HttpFailures;
  /** How long a 429 asks the client to wait, from its headers; undefined when it does not say. */
  readonly retryAfter: (headers: Headers, now: number) => number | undefined;
  /** Called on the first 401 of a request: the credential must be fetched afresh before the retry. */
  readonly refresh: () => void;
  readonly fetch: typeof globalThis.fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly random: () => number;
  readonly onResponse?: (event: ResponseEvent) => void;
  /** Paces the requests under a rate budget. @default none: only 429s slow the client down */
  readonly pacer?: Pacer;
  /** What an answer's headers say of the API's rate window, for the pacer. */
  readonly rateWindow?: (headers: Headers, now: number) => RateWindow | undefined;
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  /** Names the call in errors and metrics, e.g. `members.updateRole`. */
  readonly operation: string;
  readonly method: Method;
  readonly url: string;
  /** Built for each attempt, so a refreshed credential is used. */
  readonly headers: () => Promise<Record<string, string>>;
  readonly body?: string;
  /** Epoch milliseconds after which no attempt may start or wait. */
  readonly deadline?: number;
  /** Non-2xx statuses that are answers rather than failures, e.g. 404 for "gone". */
  readonly answers?: readonly number[];
}

/** Time kept back from the deadline so the caller can still report the failure. */
const DEADLINE_MARGIN_MS = 250;

export class RetryingHttp {
  readonly #options: RetryingHttpOptions;
  /**
   * Until when the API asked this client (one credential) to hold off. Every request waits for
   * it, not just the one that was refused: the others would only be refused too.
   */
  #pausedUntil = 0;

  public constructor(options: RetryingHttpOptions) {
    this.#options = options;
  }

  /** Sends the request, retrying what may be retried; a 2xx or listed status is the answer. */
  public async send(request: HttpRequest): Promise<Answer> {
    const { retry, failures, now } = this.#options;
    const { operation, deadline } = request;
    // A write that failed without an answer, or with a 5xx, may have run: only SQS redelivery
    // (whose handler reads first) may repeat it.
    const repeatable = request.method === "GET";
    let refreshed = false;
    let retries = 0;
    let lastError: Error | undefined;
    // The pause this request has already waited out (its own 429's included).
    let honoured = 0;

    for (let attempt = 1; ; attempt++) {
      const pausedFor = this.#pausedUntil - now();
      if (this.#pausedUntil > honoured && pausedFor > 0) {
        honoured = this.#pausedUntil;
        if (pausedFor >= this.#remaining(deadline)) {
          throw outOfTime(
            lastError ?? failures.deadline(operation, "the rate-limit wait ends past the deadline"),
          );
        }
        await this.#options.sleep(pausedFor);
      }
      const remaining = this.#remaining(deadline);
      if (remaining <= 0)
        throw outOfTime(lastError ?? failures.deadline(operation, "no time left before the deadline"));

      // The time left, not the deadline: the pacer keeps its own clock.
      if (this.#options.pacer && !(await this.#options.pacer.take(remaining))) {
        throw outOfTime(
          lastError ??
            failures.deadline(operation, "the next slot in the rate budget starts past the deadline"),
        );
      }
      const started = now();
      const timeoutMs = Math.min(this.#options.timeoutMs, remaining);
      const headers = await request.headers();
      let answer: Answer;
      try {
        const response = await this.#options.fetch(request.url, {
          method: request.method,
          headers,
          body: request.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        answer = { status: response.status, headers: response.headers, text: await response.text() };
      } catch (error) {
        const timedOut = isTimeout(error);
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : networkReason(error);
        const failure = failures.network(operation, reason, timedOut, error);
        // Cut short by the deadline, not by the request's own timeout: out of time.
        if (timedOut && timeoutMs < this.#options.timeoutMs) outOfTime(failure);
        if (!repeatable || !(await this.#backoff(retries++, undefined, deadline))) throw failure;
        lastError = failure;
        continue;
      }
      const { status } = answer;
      if (status === 429) this.#options.pacer?.throttled();
      else this.#options.pacer?.answered(this.#options.rateWindow?.(answer.headers, now()));
      this.#options.onResponse?.({
        operation,
        method: request.method,
        status,
        attempt,
        durationMs: now() - started,
      });

      if ((status >= 200 && status < 300) || request.answers?.includes(status)) return answer;
      if (status === 401 && !refreshed) {
        refreshed = true;
        this.#options.refresh();
        continue;
      }
      if (status === 429) {
        const retryAfterMs = this.#options.retryAfter(answer.headers, now());
        const failure = failures.status(operation, answer, retryAfterMs);
        if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) throw failure;
        if (retryAfterMs !== undefined) {
          this.#pausedUntil = Math.max(this.#pausedUntil, now() + retryAfterMs);
          honoured = this.#pausedUntil;
        }
        if (!(await this.#backoff(retries++, retryAfterMs, deadline))) throw failure;
        lastError = failure;
        continue;
      }
      const failure = failures.status(operation, answer, undefined);
      if (status >= 500 && repeatable && (await this.#backoff(retries++, undefined, deadline))) {
        lastError = failure;
        continue;
      }
      throw failure;
    }
  }

  /** Waits before the next attempt; false when the budget (retries or deadline) does not allow one. */
  async #backoff(retry: number, retryAfterMs: number | undefined, deadline: number | undefined) {
    const policy = this.#options.retry;
    if (retry >= policy.maxRetries) return false;
    const exponential = Math.min(policy.baseDelayMs * 2 ** retry, policy.maxDelayMs);
    const jitter = 1 + policy.jitter * (2 * this.#options.random() - 1);
    const delay = retryAfterMs ?? Math.round(exponential * jitter);
    if (delay >= this.#remaining(deadline)) return false;
    await this.#options.sleep(delay);
    return true;
  }

  #remaining(deadline: number | undefined): number {
    if (deadline === undefined) return Number.POSITIVE_INFINITY;
    return deadline - DEADLINE_MARGIN_MS - this.#options.now();
  }
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** True when fetch gave up because its `AbortSignal.timeout` fired. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

/** Why fetch failed before an answer, in a word: `ECONNREFUSED`, `ENOTFOUND`, or undici's message. */
export function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
}

/** The text's JSON, or undefined when it is empty or not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return text.trim() === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sleeps with setTimeout: the default `sleep` of every client. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
