/**
 * The Auth0 Management API calls the adapter makes, all reads: a user, and the user's roles.
 * Auth0's rate limits are honoured (429 with `X-RateLimit-Reset`, epoch seconds; every answer's
 * `X-RateLimit-Remaining` feeds the pacer), 5xx and network failures are retried a few times, and
 * every failure becomes an {@link Auth0Error} that says whether SQS should try again.
 */
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import { serviceErrorFamily } from "../../shared/errors.js";
import { jsonOrUndefined, type RetryingHttp } from "../../shared/http.js";
import { type ProviderHttpOptions, providerHttp } from "../../shared/provider-http.js";
import type { Auth0Credentials } from "./credentials.js";

export const Auth0UserSchema = z.looseObject({
  user_id: z.string().min(1),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  blocked: z.boolean().optional(),
  identities: z.array(z.looseObject({ connection: z.string().optional() })).optional(),
});
export type Auth0User = z.output<typeof Auth0UserSchema>;

export const Auth0RoleSchema = z.looseObject({ id: z.string().min(1), name: z.string().min(1) });
export type Auth0Role = z.output<typeof Auth0RoleSchema>;

const Auth0ErrorBodySchema = z.looseObject({
  errorCode: z.string().optional(),
  message: z.string().optional(),
});

/** Auth0's errors, named after it; what each means is `serviceErrorFamily`'s. */
export const {
  Error: Auth0Error,
  ApiError: Auth0ApiError,
  AuthError: Auth0AuthError,
  NetworkError: Auth0NetworkError,
  ResponseError: Auth0ResponseError,
} = serviceErrorFamily("Auth0", "Auth0");

export interface Auth0ClientOptions extends ProviderHttpOptions {
  readonly credentials: Auth0Credentials;
}

/** Calls Auth0 only before this epoch-millisecond deadline (the Lambda's remaining time). */
export interface Auth0CallOptions {
  readonly deadline?: number;
}

const AUTH0_RATE_HEADERS = { remaining: "x-ratelimit-remaining", reset: "x-ratelimit-reset" };
/** Roles a page; Auth0's maximum. */
const PER_PAGE = 100;
/** A page cap, so a misbehaving server cannot keep a Lambda paging forever. */
const MAX_PAGES = 50;

export class Auth0Client {
  readonly #credentials: Auth0Credentials;
  readonly #http: RetryingHttp;

  public constructor(options: Auth0ClientOptions) {
    const { credentials } = options;
    this.#credentials = credentials;
    this.#http = providerHttp(options, {
      rateHeaders: AUTH0_RATE_HEADERS,
      refresh: () => credentials.refresh(),
      networkError: (operation, message, cause) => new Auth0NetworkError(operation, message, { cause }),
      authError: (operation, status, answer) =>
        new Auth0AuthError(operation, status, errorDetail(answer.text)),
      apiError: (operation, status, answer) => new Auth0ApiError(operation, status, errorDetail(answer.text)),
    });
  }

  /** The user, or undefined when Auth0 has no such user (deleted). */
  public async getUser(userId: string, opts: Auth0CallOptions = {}): Promise<Auth0User | undefined> {
    const body = await this.#get("users.get", `/api/v2/users/${encodeURIComponent(userId)}`, opts, true);
    return body === undefined ? undefined : parse("users.get", Auth0UserSchema, body);
  }

  /** Every role assigned to the user directly (Auth0 pages them; all pages are read). */
  public async listUserRoles(userId: string, opts: Auth0CallOptions = {}): Promise<Auth0Role[]> {
    const roles: Auth0Role[] = [];
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new Auth0ResponseError("users.roles", `more than ${MAX_PAGES} pages`);
      const path = `/api/v2/users/${encodeURIComponent(userId)}/roles?per_page=${PER_PAGE}&page=${page}`;
      const batch = parse(
        "users.roles",
        z.array(Auth0RoleSchema),
        await this.#get("users.roles", path, opts),
      );
      roles.push(...batch);
      if (batch.length < PER_PAGE) return roles;
    }
  }

  /** A GET's JSON; undefined for a 404 when `notFoundIsAnswer`. */
  async #get(operation: string, path: string, opts: Auth0CallOptions, notFoundIsAnswer = false) {
    const credentials = this.#credentials;
    const answer = await this.#http.send({
      operation,
      method: "GET",
      url: (await credentials.baseUrl()) + path,
      deadline: opts.deadline,
      answers: notFoundIsAnswer ? [404] : [],
      headers: async () => ({ Accept: "application/json", Authorization: await credentials.authorization() }),
    });
    return answer.status === 404 ? undefined : jsonOrUndefined(answer.text);
  }
}

function parse<T extends z.ZodType>(operation: string, schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new Auth0ResponseError(operation, `unexpected response: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Auth0's error code and the start of its message; neither ever holds a credential. */
function errorDetail(text: string): string {
  const parsed = Auth0ErrorBodySchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success) return "";
  const { errorCode, message } = parsed.data;
  return [errorCode, message?.slice(0, 200)].filter(Boolean).join(" ");
}
