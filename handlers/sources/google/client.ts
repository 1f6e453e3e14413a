/**
 * The Admin SDK Directory API calls the Google source makes: reads of users and their groups, and
 * the `users.watch` channels it keeps. Throttling is honoured (429 with `Retry-After` when Google
 * gives one), 5xx and network failures of reads are retried a few times, and every failure becomes
 * a {@link GoogleError} that says whether SQS should try again.
 */
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import { serviceErrorFamily } from "../../shared/errors.js";
import { jsonOrUndefined, type Method, parseRetryAfter, type RetryingHttp } from "../../shared/http.js";
import { type ProviderHttpOptions, providerHttp } from "../../shared/provider-http.js";
import type { GoogleCredentials } from "./credentials.js";
import type { WatchEvent } from "./events.js";

export const GoogleUserSchema = z.looseObject({
  id: z.string().min(1),
  primaryEmail: z.string().optional(),
  suspended: z.boolean().optional(),
  archived: z.boolean().optional(),
  isAdmin: z.boolean().optional(),
  name: z.looseObject({ givenName: z.string().nullish(), familyName: z.string().nullish() }).nullish(),
  phones: z
    .array(
      z.looseObject({
        value: z.string().nullish(),
        primary: z.boolean().nullish(),
        type: z.string().nullish(),
      }),
    )
    .nullish(),
  organizations: z
    .array(
      z.looseObject({
        primary: z.boolean().nullish(),
        title: z.string().nullish(),
        department: z.string().nullish(),
        description: z.string().nullish(),
      }),
    )
    .nullish(),
  customSchemas: z.record(z.string(), z.record(z.string(), z.unknown())).nullish(),
});
export type GoogleUser = z.output<typeof GoogleUserSchema>;

const GroupSchema = z.looseObject({
  id: z.string().min(1),
  email: z.string().optional(),
  name: z.string().optional(),
});
export type GoogleGroup = z.output<typeof GroupSchema>;

export const ChannelSchema = z.looseObject({
  id: z.string().min(1),
  resourceId: z.string().min(1),
  /** Epoch milliseconds, as a string. */
  expiration: z.coerce.number().optional(),
});
export type GoogleChannel = z.output<typeof ChannelSchema>;

/** Google Directory API's errors, named after it; what each means is `serviceErrorFamily`'s. */
export const {
  Error: GoogleError,
  ApiError: GoogleApiError,
  AuthError: GoogleAuthError,
  NetworkError: GoogleNetworkError,
  ResponseError: GoogleResponseError,
} = serviceErrorFamily("Google", "Google Directory API");

export interface GoogleClientOptions extends ProviderHttpOptions {
  readonly credentials: GoogleCredentials;
}

export interface GoogleCallOptions {
  readonly deadline?: number;
}

const MAX_PAGES = 100;
const BASE = "/admin/directory/v1";

const ErrorBodySchema = z.looseObject({
  error: z
    .looseObject({
      code: z.number().optional(),
      message: z.string().optional(),
      status: z.string().optional(),
    })
    .optional(),
});

export class GoogleClient {
  readonly #credentials: GoogleCredentials;
  readonly #http: RetryingHttp;

  public constructor(options: GoogleClientOptions) {
    const { credentials } = options;
    this.#credentials = credentials;
    this.#http = providerHttp(options, {
      retryAfter: (headers, now) => parseRetryAfter(headers.get("retry-after"), now) ?? 1_000,
      refresh: () => credentials.refresh(),
      networkError: (operation, message, cause) => new GoogleNetworkError(operation, message, { cause }),
      authError: (operation, status, answer) =>
        new GoogleAuthError(operation, status, errorDetail(answer.text)),
      apiError: (operation, status, answer) =>
        new GoogleApiError(operation, status, errorDetail(answer.text)),
    });
  }

  /** `users.get` with every custom schema, or undefined when Google has no such user (deleted). */
  public async getUser(userKey: string, opts: GoogleCallOptions = {}): Promise<GoogleUser | undefined> {
    const body = await this.#send(
      "users.get",
      "GET",
      `${BASE}/users/${encodeURIComponent(userKey)}?projection=full`,
      opts,
      [404],
    );
    return body === undefined ? undefined : parse("users.get", GoogleUserSchema, body);
  }

  /** The groups the user is a direct member of (`groups.list?userKey=`). */
  public async userGroups(userKey: string, opts: GoogleCallOptions = {}): Promise<GoogleGroup[]> {
    const groups: GoogleGroup[] = [];
    let token: string | undefined;
    for (let page = 0; page === 0 || token; page++) {
      if (page >= MAX_PAGES) throw new GoogleResponseError("groups.list", `more than ${MAX_PAGES} pages`);
      const query = new URLSearchParams({
        userKey,
        maxResults: "200",
        ...(token ? { pageToken: token } : {}),
      });
      const body = parse(
        "groups.list",
        z.looseObject({ groups: z.array(GroupSchema).optional(), nextPageToken: z.string().optional() }),
        await this.#send("groups.list", "GET", `${BASE}/groups?${query}`, opts),
      );
      groups.push(...(body.groups ?? []));
      token = body.nextPageToken;
    }
    return groups;
  }

  /** A page of the account's users (`users.list`, full projection). */
  public async listUsersPage(customer: string, pageToken: string | undefined, opts: GoogleCallOptions = {}) {
    const query = new URLSearchParams({
      customer,
      projection: "full",
      maxResults: "500",
      ...(pageToken ? { pageToken } : {}),
    });
    const body = parse(
      "users.list",
      z.looseObject({ users: z.array(GoogleUserSchema).optional(), nextPageToken: z.string().optional() }),
      await this.#send("users.list", "GET", `${BASE}/users?${query}`, opts),
    );
    return { users: body.users ?? [], next: body.nextPageToken };
  }

  /** Opens a `users.watch` channel for one event type. */
  public async watch(
    request: {
      customer: string;
      event: WatchEvent;
      id: string;
      address: string;
      token: string;
      ttlSeconds: number;
    },
    opts: GoogleCallOptions = {},
  ): Promise<GoogleChannel> {
    const query = new URLSearchParams({
      customer: request.customer,
      event: request.event,
      projection: "basic",
    });
    const body = await this.#send("users.watch", "POST", `${BASE}/users/watch?${query}`, opts, [], {
      id: request.id,
      type: "web_hook",
      address: request.address,
      token: request.token,
      params: { ttl: String(request.ttlSeconds) },
    });
    return parse("users.watch", ChannelSchema, body);
  }

  /** Stops a channel; one Google no longer knows is already stopped. */
  public async stop(
    channel: { id: string; resourceId: string },
    opts: GoogleCallOptions = {},
  ): Promise<void> {
    await this.#send("channels.stop", "POST", "/admin/directory_v1/channels/stop", opts, [404], channel);
  }

  async #send(
    operation: string,
    method: Method,
    path: string,
    opts: GoogleCallOptions,
    answers: number[] = [],
    body?: unknown,
  ) {
    const credentials = this.#credentials;
    const answer = await this.#http.send({
      operation,
      method,
      url: (await credentials.apiUrl()) + path,
      deadline: opts.deadline,
      answers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: async () => ({
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        Authorization: await credentials.authorization(),
      }),
    });
    return answers.includes(answer.status) && answer.status >= 300 ? undefined : jsonOrUndefined(answer.text);
  }
}

function parse<T extends z.ZodType>(operation: string, schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new GoogleResponseError(operation, `unexpected response: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function errorDetail(text: string): string {
  const parsed = ErrorBodySchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success || !parsed.data.error) return "";
  const { status, message } = parsed.data.error;
  return [status, message?.slice(0, 200)].filter(Boolean).join(" ");
}
