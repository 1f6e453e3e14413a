/**
 * The Okta Management API calls the adapter makes, all reads: a user, the user's groups, a group,
 * and whether a user is assigned to an app. Okta's rate limits are honoured (429 with
 * `X-Rate-Limit-Reset`, epoch seconds), 5xx and network failures are retried a few times, and
 * every failure becomes an {@link OktaError} that says whether SQS should try again.
 */
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import { serviceErrorFamily } from "../../shared/errors.js";
import { jsonOrUndefined, type RetryingHttp } from "../../shared/http.js";
import { type ProviderHttpOptions, providerHttp } from "../../shared/provider-http.js";

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

/** Okta's errors, named after it; what each means is `serviceErrorFamily`'s. */
export const {
  Error: OktaError,
  ApiError: OktaApiError,
  AuthError: OktaAuthError,
  NetworkError: OktaNetworkError,
  ResponseError: OktaResponseError,
} = serviceErrorFamily("Okta", "Okta");

/** What the client needs of a credential: the org, the Authorization header, and a way to renew it. */
export interface OktaCredentials {
  /** `https://acme.okta.com` */
  orgUrl(): Promise<string>;
  authorization(): Promise<string>;
  /** Okta said 401: the next {@link authorization} must not come from a cache. */
  refresh(): void;
}

export interface OktaClientOptions extends ProviderHttpOptions {
  readonly credentials: OktaCredentials;
  /** Users per page of a listing. @default 200 (Okta's maximum) */
  readonly listPageSize?: number;
}

/** Calls Okta only before this epoch-millisecond deadline (the Lambda's remaining time). */
export interface OktaCallOptions {
  readonly deadline?: number;
}

const OKTA_RATE_HEADERS = { remaining: "x-rate-limit-remaining", reset: "x-rate-limit-reset" };

/** A Link-header page cap, so a misbehaving server cannot keep a Lambda paging forever. */
const MAX_PAGES = 100;

export class OktaClient {
  readonly #credentials: OktaCredentials;
  readonly #http: RetryingHttp;
  readonly #listPageSize: number;

  public constructor(options: OktaClientOptions) {
    const { credentials } = options;
    this.#credentials = credentials;
    this.#listPageSize = options.listPageSize ?? 200;
    this.#http = providerHttp(options, {
      rateHeaders: OKTA_RATE_HEADERS,
      refresh: () => credentials.refresh(),
      networkError: (operation, message, cause) => new OktaNetworkError(operation, message, { cause }),
      authError: (operation, status, answer) =>
        new OktaAuthError(operation, status, errorDetail(answer.text)),
      apiError: (operation, status, answer) => new OktaApiError(operation, status, errorDetail(answer.text)),
    });
  }

  /** The user, or undefined when Okta has no such user (deleted). */
  public async getUser(userId: string, opts: OktaCallOptions = {}): Promise<OktaUser | undefined> {
    const answer = await this.#get("users.get", `/api/v1/users/${encodeURIComponent(userId)}`, opts, true);
    return answer && parse("users.get", OktaUserSchema, answer.body);
  }

  /**
   * One page of the org's users (Okta leaves DEPROVISIONED users out of an unfiltered list), and
   * the URL of the next page from the `Link` header: the cursor a full reconciliation keeps.
   */
  public async listUsersPage(
    next: string | undefined,
    opts: OktaCallOptions = {},
  ): Promise<{ readonly users: OktaUser[]; readonly next?: string }> {
    const first = `/api/v1/users?limit=${this.#listPageSize}`;
    // The cursor comes back from storage: never send the credential anywhere but the org.
    const orgUrl = (await this.#credentials.orgUrl()).replace(/\/+$/, "");
    if (next !== undefined && !next.startsWith(`${orgUrl}/api/v1/users?`)) {
      throw new OktaResponseError("users.list", "the listing's cursor is not a page of this org's users");
    }
    const answer = await this.#get("users.list", next ?? first, opts, false);
    return { users: parse("users.list", z.array(OktaUserSchema), answer?.body), next: answer?.next };
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

  /** A GET; undefined for a 404 when `notFoundIsAnswer`. */
  async #get(
    operation: string,
    pathOrUrl: string,
    opts: OktaCallOptions,
    notFoundIsAnswer: boolean,
  ): Promise<{ body: unknown; next?: string } | undefined> {
    const credentials = this.#credentials;
    const orgUrl = (await credentials.orgUrl()).replace(/\/+$/, "");
    const answer = await this.#http.send({
      operation,
      method: "GET",
      url: pathOrUrl.startsWith("http") ? pathOrUrl : orgUrl + pathOrUrl,
      deadline: opts.deadline,
      answers: notFoundIsAnswer ? [404] : [],
      headers: async () => ({ Accept: "application/json", Authorization: await credentials.authorization() }),
    });
    if (answer.status === 404) return undefined;
    return { body: jsonOrUndefined(answer.text), next: nextLink(answer.headers.get("link"), orgUrl) };
  }
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
