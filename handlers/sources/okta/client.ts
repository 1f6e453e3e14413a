/**
 * The Okta Management API calls the adapter makes, all reads: a user, the user's groups, a group,
 * and whether a user is assigned to an app. Okta's rate limits are honoured (429 with
 * `X-Rate-Limit-Reset`, epoch seconds), 5xx and network failures are retried a few times, and
 * every failure becomes an {@link OktaError} that says whether SQS should try again.
 */
import * as z from "zod";
import { describeIssues } from "../../core/config.js";
import { SyncError } from "../../core/errors.js";
import { isTimeout, jsonOrUndefined, networkReason } from "../../shared/http.js";

export const OktaUserSchema = z.looseObject({
  id: z.string().min(1),
  /** ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED. */
  status: z.string().min(1),
  profile: z.record(z.string(), z.unknown()),
});
export type OktaUser = z.output<typeof OktaUserSchema>;

export const OktaGroupSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().optional(),
  profile: z.looseObject({ name: z.string().min(1), description: z.string().nullish() }),
});
export type OktaGroup = z.output<typeof OktaGroupSchema>;

const OktaErrorBodySchema = z.looseObject({
  errorCode: z.string().optional(),
  errorSummary: z.string().optional(),
});

/** The base of every failure talking to Okta. */
export abstract class OktaError extends SyncError {
  public constructor(
    public readonly operation: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`Okta ${operation}: ${message}`, options);
  }
}

/** Okta answered with a non-2xx status. 429 and 5xx are transient; the rest are permanent. */
export class OktaApiError extends OktaError {
  public readonly transient: boolean;

  public constructor(
    operation: string,
    public readonly status: number,
    detail: string,
  ) {
    super(operation, `HTTP ${status}${detail ? `: ${detail}` : ""}`);
    this.transient = status === 429 || status >= 500;
  }
}

/** 401 or 403 even with a fresh credential: the token is wrong, revoked, or lacks a scope or admin role. */
export class OktaAuthError extends OktaApiError {
  public override readonly transient = false;
}

/** No answer: connection refused or reset, DNS, TLS, or the request timeout. Transient. */
export class OktaNetworkError extends OktaError {
  public readonly transient = true;
}

/** A 2xx body that is not what the API documents. Permanent. */
export class OktaResponseError extends OktaError {
  public readonly transient = false;
}

/** What the client needs of a credential: the org, the Authorization header, and a way to renew it. */
export interface OktaCredentials {
  /** `https://acme.okta.com` */
  orgUrl(): Promise<string>;
  authorization(): Promise<string>;
  /** Okta said 401: the next {@link authorization} must not come from a cache. */
  refresh(): void;
}

export interface OktaClientOptions {
  readonly credentials: OktaCredentials;
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
}

/** Calls Okta only before this epoch-millisecond deadline (the Lambda's remaining time). */
export interface OktaCallOptions {
  readonly deadline?: number;
}

const DEADLINE_MARGIN_MS = 250;
/** A Link-header page cap, so a misbehaving server cannot keep a Lambda paging forever. */
const MAX_PAGES = 100;

export class OktaClient {
  readonly #options: Required<Omit<OktaClientOptions, "onResponse">> & Pick<OktaClientOptions, "onResponse">;

  public constructor(options: OktaClientOptions) {
    this.#options = {
      timeoutMs: 5_000,
      maxRetries: 3,
      maxRateLimitWaitMs: 20_000,
      fetch: globalThis.fetch,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: Date.now,
      ...options,
    };
  }

  /** The user, or undefined when Okta has no such user (deleted). */
  public async getUser(userId: string, opts: OktaCallOptions = {}): Promise<OktaUser | undefined> {
    const answer = await this.#get("users.get", `/api/v1/users/${encodeURIComponent(userId)}`, opts, true);
    return answer && parse("users.get", OktaUserSchema, answer.body);
  }

  /** Every group the user is in (Okta groups, app groups, and Everyone). */
  public async listUserGroups(userId: string, opts: OktaCallOptions = {}): Promise<OktaGroup[]> {
    const groups: OktaGroup[] = [];
    let path: string | undefined = `/api/v1/users/${encodeURIComponent(userId)}/groups`;
    for (let page = 0; path; page++) {
      if (page >= MAX_PAGES) throw new OktaResponseError("users.groups", `more than ${MAX_PAGES} pages`);
      const answer = await this.#get("users.groups", path, opts, false);
      groups.push(...parse("users.groups", z.array(OktaGroupSchema), answer?.body));
      path = answer?.next;
    }
    return groups;
  }

  /** The group, or undefined when it no longer exists. */
  public async getGroup(groupId: string, opts: OktaCallOptions = {}): Promise<OktaGroup | undefined> {
    const answer = await this.#get("groups.get", `/api/v1/groups/${encodeURIComponent(groupId)}`, opts, true);
    return answer && parse("groups.get", OktaGroupSchema, answer.body);
  }

  /** True when the user is assigned to the app (directly or through a group). */
  public async isAssignedToApp(appId: string, userId: string, opts: OktaCallOptions = {}): Promise<boolean> {
    const path = `/api/v1/apps/${encodeURIComponent(appId)}/users/${encodeURIComponent(userId)}`;
    return (await this.#get("apps.user", path, opts, true)) !== undefined;
  }

  /** A GET with retries; undefined for a 404 when `notFoundIsAnswer`. */
  async #get(
    operation: string,
    pathOrUrl: string,
    opts: OktaCallOptions,
    notFoundIsAnswer: boolean,
  ): Promise<{ body: unknown; next?: string } | undefined> {
    const { credentials, maxRetries } = this.#options;
    const orgUrl = (await credentials.orgUrl()).replace(/\/+$/, "");
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : orgUrl + pathOrUrl;
    let refreshed = false;
    let lastError: OktaError | undefined;
    for (let retry = 0; ; ) {
      const remaining = this.#remaining(opts.deadline);
      if (remaining <= 0)
        throw lastError ?? new OktaNetworkError(operation, "no time left before the deadline");
      let response: Response;
      let text: string;
      try {
        response = await this.#options.fetch(url, {
          headers: { Accept: "application/json", Authorization: await credentials.authorization() },
          signal: AbortSignal.timeout(Math.min(this.#options.timeoutMs, remaining)),
        });
        text = await response.text();
      } catch (error) {
        if (error instanceof SyncError) throw error;
        lastError = new OktaNetworkError(
          operation,
          `request failed before an answer (${isTimeout(error) ? "timeout" : networkReason(error)})`,
          {
            cause: error,
          },
        );
        if (retry >= maxRetries || !(await this.#wait(backoffMs(retry++), opts.deadline))) throw lastError;
        continue;
      }
      this.#options.onResponse?.(response.status);
      if (response.ok)
        return { body: jsonOrUndefined(text), next: nextLink(response.headers.get("link"), orgUrl) };
      if (response.status === 404 && notFoundIsAnswer) return undefined;
      const detail = errorDetail(text);
      if (response.status === 401 && !refreshed) {
        refreshed = true;
        credentials.refresh();
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        throw new OktaAuthError(operation, response.status, detail);
      }
      lastError = new OktaApiError(operation, response.status, detail);
      if (!lastError.transient || retry >= maxRetries) throw lastError;
      const wait =
        response.status === 429
          ? this.#untilReset(response.headers.get("x-rate-limit-reset"))
          : backoffMs(retry);
      if (wait > this.#options.maxRateLimitWaitMs) throw lastError;
      retry++;
      if (!(await this.#wait(wait, opts.deadline))) throw lastError;
    }
  }

  /** Milliseconds until Okta's rate-limit window resets (epoch seconds), plus a little for clock skew. */
  #untilReset(header: string | null): number {
    const reset = Number(header);
    if (!header || !Number.isFinite(reset)) return 1_000;
    return Math.max(0, reset * 1000 - this.#options.now()) + 250;
  }

  async #wait(ms: number, deadline: number | undefined): Promise<boolean> {
    if (ms >= this.#remaining(deadline)) return false;
    await this.#options.sleep(ms);
    return true;
  }

  #remaining(deadline: number | undefined): number {
    return deadline === undefined
      ? Number.POSITIVE_INFINITY
      : deadline - DEADLINE_MARGIN_MS - this.#options.now();
  }
}

function backoffMs(retry: number): number {
  return Math.min(250 * 2 ** retry, 4_000) * (0.8 + 0.4 * Math.random());
}

function parse<T extends z.ZodType>(operation: string, schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new OktaResponseError(operation, `unexpected response: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** The `rel="next"` URL of a Link header, only when it points at the same org. */
function nextLink(header: string | null, orgUrl: string): string | undefined {
  for (const part of header?.split(",") ?? []) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (match?.[1]?.startsWith(orgUrl)) return match[1];
  }
  return undefined;
}

function errorDetail(text: string): string {
  const parsed = OktaErrorBodySchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success) return "";
  const { errorCode, errorSummary } = parsed.data;
  return [errorCode, errorSummary?.slice(0, 200)].filter(Boolean).join(" ");
}
