/**
 * One HTTP exchange with Tallyfy, with everything the contract asks of every call: the three
 * headers, a timeout, retries that never repeat a write that may have run, `Retry-After`, one
 * token refresh on 401, and error bodies turned into {@link TallyfyApiError}s.
 */
import { SyncError } from "../core/errors.js";
import { isTimeout, networkReason } from "../shared/http.js";
import {
  TallyfyApiError,
  TallyfyAuthError,
  TallyfyDeadlineError,
  type TallyfyError,
  type TallyfyErrorDetail,
  TallyfyNetworkError,
  TallyfyRateLimitError,
  TallyfyTimeoutError,
} from "./errors.js";
import { ErrorBodySchema } from "./schemas.js";

/** Where bearer tokens come from. */
export interface TokenSource {
  /** The token to send now. May be cached. */
  getToken(): Promise<string>;
  /** Tallyfy said 401: the next {@link getToken} must fetch afresh rather than serve its cache. */
  refresh(): void;
}

/** How hard to try before giving the work back to SQS. */
export interface RetryPolicy {
  /** Retries after the first attempt. @default 4 */
  readonly maxRetries: number;
  /** First backoff delay; doubles on each retry. @default 500 */
  readonly baseDelayMs: number;
  /** Largest backoff delay. @default 8000 */
  readonly maxDelayMs: number;
  /**
   * The longest `Retry-After` we wait for in-process. A longer one is handed back to SQS as a
   * transient failure, so the Lambda is not billed for sleeping. @default 30000
   */
  readonly maxRetryAfterMs: number;
  /** Backoff is scaled by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  jitter: 0.2,
};

/** What each answered request reports, for metrics and logs. Never carries a token. */
export interface ResponseEvent {
  readonly operation: string;
  readonly method: string;
  readonly status: number;
  readonly attempt: number;
  readonly durationMs: number;
}

export interface TransportOptions {
  /** Base URL including `/api` when the host needs it. */
  readonly baseUrl: string;
  readonly tokens: TokenSource;
  /** Per-request timeout. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fetch: typeof globalThis.fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly random: () => number;
  readonly onResponse?: (event: ResponseEvent) => void;
}

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface RequestSpec {
  /** Names the call in errors and metrics, e.g. `members.updateRole`. */
  readonly operation: string;
  readonly method: Method;
  /** Path below the base URL, already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  /** Epoch milliseconds after which no attempt may start or wait. */
  readonly deadline?: number;
}

/** Time kept back from the deadline so the caller can still report the failure. */
const DEADLINE_MARGIN_MS = 250;

export class Transport {
  readonly #options: TransportOptions;
  /**
   * Until when Tallyfy asked this client (one token) to hold off, by a 429's Retry-After. Every
   * request waits for it, not just the one that was refused: the others would only be refused too.
   */
  #pausedUntil = 0;

  public constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** Performs the request and returns the parsed JSON body, or `undefined` for an empty 2xx body. */
  public async request(spec: RequestSpec): Promise<unknown> {
    const { retry, tokens } = this.#options;
    const isRead = spec.method === "GET";
    let refreshed = false;
    let retries = 0;
    let lastError: TallyfyError | undefined;
    // The pause this request has already waited out (its own 429's included).
    let honoured = 0;

    for (let attempt = 1; ; attempt++) {
      const pausedFor = this.#pausedUntil - this.#options.now();
      if (this.#pausedUntil > honoured && pausedFor > 0) {
        honoured = this.#pausedUntil;
        if (pausedFor >= this.#remaining(spec.deadline)) {
          throw (
            lastError ??
            new TallyfyDeadlineError(spec.operation, "Tallyfy's Retry-After ends past the deadline")
          );
        }
        await this.#options.sleep(pausedFor);
      }
      const remaining = this.#remaining(spec.deadline);
      if (remaining <= 0) {
        throw lastError ?? new TallyfyDeadlineError(spec.operation, "no time left before the deadline");
      }
      const started = this.#options.now();
      const timeoutMs = Math.min(this.#options.timeoutMs, remaining);
      let status: number;
      let text: string;
      let headers: Headers;
      try {
        const response = await this.#options.fetch(this.#url(spec), {
          method: spec.method,
          headers: this.#headers(await tokens.getToken(), spec.body !== undefined),
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        headers = response.headers;
        text = await response.text();
      } catch (error) {
        if (error instanceof SyncError) throw error;
        const failure = networkFailure(spec.operation, error, timeoutMs);
        // A write that timed out may have been applied; only SQS redelivery (which re-reads) may repeat it.
        if (!isRead || !(await this.#backoff(retries++, undefined, spec.deadline))) throw failure;
        lastError = failure;
        continue;
      }
      this.#options.onResponse?.({
        operation: spec.operation,
        method: spec.method,
        status,
        attempt,
        durationMs: this.#options.now() - started,
      });

      if (status >= 200 && status < 300) return parseJson(text);

      const detail = parseErrorDetail(text, headers.get("x-request-id") ?? undefined);
      if (status === 401) {
        if (refreshed) throw new TallyfyAuthError(spec.operation, detail);
        refreshed = true;
        tokens.refresh();
        continue;
      }
      if (status === 429) {
        const retryAfterMs = parseRetryAfter(headers.get("retry-after"), this.#options.now());
        const failure = new TallyfyRateLimitError(spec.operation, detail, retryAfterMs);
        if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) throw failure;
        if (retryAfterMs !== undefined) {
          this.#pausedUntil = Math.max(this.#pausedUntil, this.#options.now() + retryAfterMs);
          honoured = this.#pausedUntil;
        }
        if (!(await this.#backoff(retries++, retryAfterMs, spec.deadline))) throw failure;
        lastError = failure;
        continue;
      }
      const failure = new TallyfyApiError(spec.operation, status, detail);
      if (status >= 500 && isRead && (await this.#backoff(retries++, undefined, spec.deadline))) {
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

  #url(spec: RequestSpec): string {
    const url = new URL(this.#options.baseUrl.replace(/\/+$/, "") + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  #headers(token: string, hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
      // Without it Tallyfy answers 401 or "endpoint not found".
      "X-Tallyfy-Client": "APIClient",
    };
    if (hasBody) headers["Content-Type"] = "application/json";
    return headers;
  }
}

function networkFailure(operation: string, error: unknown, timeoutMs: number): TallyfyError {
  if (isTimeout(error)) {
    return new TallyfyTimeoutError(operation, `no answer within ${timeoutMs} ms`, { cause: error });
  }
  return new TallyfyNetworkError(operation, `request failed before an answer (${networkReason(error)})`, {
    cause: error,
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
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

const MAX_TEXT = 300;

/** Flattens any Tallyfy error body into message, code and `field: message` lines. Never throws. */
export function parseErrorDetail(text: string, requestId?: string): TallyfyErrorDetail {
  const body = parseJson(text);
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) {
    const raw = typeof body === "string" ? body.trim() : "";
    return { message: raw ? clip(raw) : undefined, fieldErrors: [], requestId };
  }
  const { error, errors } = parsed.data;
  const nested = isRecord(error) ? error : undefined;
  const message = stringOf(nested?.message) ?? stringOf(parsed.data.message) ?? stringOf(error);
  const code = stringOf(nested?.code) ?? stringOf(parsed.data.code);
  return {
    message: message === undefined ? undefined : clip(message),
    code,
    fieldErrors: flattenFieldErrors(errors, "").map(clip),
    requestId,
  };
}

function flattenFieldErrors(value: unknown, path: string): string[] {
  if (typeof value === "string") return [path ? `${path}: ${value}` : value];
  if (Array.isArray(value)) return value.flatMap((item) => flattenFieldErrors(item, path));
  if (isRecord(value)) {
    return Object.entries(value).flatMap(([key, item]) =>
      flattenFieldErrors(item, path ? `${path}.${key}` : key),
    );
  }
  return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

// 5xx bodies can carry SQL or stack traces; keep reasons short enough for a queue attribute.
function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}
