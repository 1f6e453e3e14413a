/**
 * One HTTP exchange with Tallyfy: the three headers every call needs, the shared retry loop
 * (`shared/http.ts`) with Tallyfy's `Retry-After`, and error bodies turned into
 * {@link TallyfyApiError}s.
 */
import {
  type Answer,
  type Method,
  parseRetryAfter,
  type ResponseEvent,
  RetryingHttp,
  type RetryPolicy,
} from "../shared/http.js";
import type { Pacer } from "../shared/pacer.js";
import {
  TallyfyApiError,
  TallyfyAuthError,
  TallyfyDeadlineError,
  type TallyfyErrorDetail,
  TallyfyNetworkError,
  TallyfyRateLimitError,
  TallyfyTimeoutError,
} from "./errors.js";
import { ErrorBodySchema } from "./schemas.js";

export type { Method, ResponseEvent, RetryPolicy };

/** Where bearer tokens come from. */
export interface TokenSource {
  /** The token to send now. May be cached. */
  getToken(): Promise<string>;
  /** Tallyfy said 401: the next {@link getToken} must fetch afresh rather than serve its cache. */
  refresh(): void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  jitter: 0.2,
};

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
  /** Paces requests under the token's rate budget. @default none */
  readonly pacer?: Pacer;
}

/** Tallyfy's window is a rolling minute per user; it says what is left in `X-RateLimit-Remaining`, when it says. */
const TALLYFY_WINDOW_MS = 60_000;

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

export class Transport {
  readonly #baseUrl: string;
  readonly #tokens: TokenSource;
  readonly #http: RetryingHttp;

  public constructor(options: TransportOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#tokens = options.tokens;
    this.#http = new RetryingHttp({
      ...options,
      retryAfter: (headers, now) => parseRetryAfter(headers.get("retry-after"), now),
      rateWindow: (headers) => {
        const remaining = Number.parseInt(headers.get("x-ratelimit-remaining") ?? "", 10);
        return Number.isNaN(remaining) ? undefined : { remaining, resetMs: TALLYFY_WINDOW_MS };
      },
      refresh: () => options.tokens.refresh(),
      failures: {
        network: (operation, message, timedOut, cause) =>
          timedOut
            ? new TallyfyTimeoutError(operation, message, { cause })
            : new TallyfyNetworkError(operation, `request failed before an answer (${message})`, { cause }),
        deadline: (operation, message) => new TallyfyDeadlineError(operation, message),
        status: statusError,
      },
    });
  }

  /** Performs the request and returns the parsed JSON body, or `undefined` for an empty 2xx body. */
  public async request(spec: RequestSpec): Promise<unknown> {
    const hasBody = spec.body !== undefined;
    const answer = await this.#http.send({
      operation: spec.operation,
      method: spec.method,
      url: this.#url(spec),
      body: hasBody ? JSON.stringify(spec.body) : undefined,
      deadline: spec.deadline,
      headers: async () => ({
        Authorization: `Bearer ${await this.#tokens.getToken()}`,
        Accept: "application/json",
        // Without it Tallyfy answers 401 or "endpoint not found".
        "X-Tallyfy-Client": "APIClient",
        ...(hasBody ? { "Content-Type": "application/json" } : {}),
      }),
    });
    return parseJson(answer.text);
  }

  #url(spec: RequestSpec): string {
    const url = new URL(this.#baseUrl + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }
}

function statusError(operation: string, answer: Answer, retryAfterMs: number | undefined): TallyfyApiError {
  const detail = parseErrorDetail(answer.text, answer.headers.get("x-request-id") ?? undefined);
  if (answer.status === 401) return new TallyfyAuthError(operation, detail);
  if (answer.status === 429) return new TallyfyRateLimitError(operation, detail, retryAfterMs);
  return new TallyfyApiError(operation, answer.status, detail);
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
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
