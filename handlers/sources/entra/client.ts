/**
 * The Microsoft Graph calls the Entra source makes: reads of users, their groups and group deltas,
 * and the subscriptions it keeps. Graph's throttling is honoured (429 with `Retry-After`, seconds),
 * 5xx and network failures of reads are retried a few times, and every failure becomes a
 * {@link GraphError} that says whether SQS should try again.
 */
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import { serviceErrorFamily } from "../../shared/errors.js";
import { jsonOrUndefined, type Method, parseRetryAfter, type RetryingHttp } from "../../shared/http.js";
import { type ProviderHttpOptions, providerHttp } from "../../shared/provider-http.js";
import type { GraphCredentials } from "./credentials.js";

export const GraphUserSchema = z.looseObject({
  id: z.string().min(1),
  accountEnabled: z.boolean().nullish(),
  userType: z.string().nullish(),
  mail: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
});
export type GraphUser = z.output<typeof GraphUserSchema>;

export const GraphGroupSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  description: z.string().nullish(),
});
export type GraphGroup = z.output<typeof GraphGroupSchema>;

const PageSchema = z.looseObject({
  value: z.array(z.unknown()),
  "@odata.nextLink": z.string().optional(),
  "@odata.deltaLink": z.string().optional(),
});

const DeltaGroupSchema = z.looseObject({
  id: z.string().min(1),
  "members@delta": z
    .array(
      z.looseObject({
        "@odata.type": z.string().optional(),
        id: z.string().min(1),
        "@removed": z.unknown().optional(),
      }),
    )
    .optional(),
});

export const SubscriptionSchema = z.looseObject({
  id: z.string().min(1),
  resource: z.string(),
  expirationDateTime: z.string(),
});
export type GraphSubscription = z.output<typeof SubscriptionSchema>;

/** The fields of a user the source maps (idp-events.md section 4). */
export const USER_FIELDS = [
  "id",
  "givenName",
  "surname",
  "jobTitle",
  "department",
  "mobilePhone",
  "businessPhones",
  "mail",
  "userPrincipalName",
  "userType",
  "accountEnabled",
  "otherMails",
  "employeeId",
  "officeLocation",
  "companyName",
];

/** Microsoft Graph's errors, named after it; what each means is `serviceErrorFamily`'s. */
export const {
  Error: GraphError,
  ApiError: GraphApiError,
  AuthError: GraphAuthError,
  NetworkError: GraphNetworkError,
  ResponseError: GraphResponseError,
} = serviceErrorFamily("Graph", "Microsoft Graph");

export interface GraphClientOptions extends ProviderHttpOptions {
  readonly credentials: GraphCredentials;
}

export interface GraphCallOptions {
  readonly deadline?: number;
}

/** A page cap, so a misbehaving answer cannot keep a Lambda paging forever. */
const MAX_PAGES = 100;

const ErrorBodySchema = z.looseObject({
  error: z.looseObject({ code: z.string().optional(), message: z.string().optional() }).optional(),
});

export class GraphClient {
  readonly #credentials: GraphCredentials;
  readonly #http: RetryingHttp;
  /** False once Graph refused the mailbox settings: the app has no MailboxSettings.Read. */
  #mailboxReadable = true;

  public constructor(options: GraphClientOptions) {
    const { credentials } = options;
    this.#credentials = credentials;
    this.#http = providerHttp(options, {
      retryAfter: (headers, now) => parseRetryAfter(headers.get("retry-after"), now) ?? 1_000,
      refresh: () => credentials.refresh(),
      networkError: (operation, message, cause) => new GraphNetworkError(operation, message, { cause }),
      authError: (operation, status, answer) =>
        new GraphAuthError(operation, status, errorDetail(answer.text)),
      apiError: (operation, status, answer) => new GraphApiError(operation, status, errorDetail(answer.text)),
    });
  }

  /** The user with the mapped fields, or undefined when Graph has no such user (deleted). */
  public async getUser(
    userId: string,
    opts: GraphCallOptions = {},
  ): Promise<(Record<string, unknown> & GraphUser) | undefined> {
    const path = `/users/${encodeURIComponent(userId)}?$select=${USER_FIELDS.join(",")}`;
    const body = await this.#send("users.get", "GET", path, opts, [404]);
    return body === undefined ? undefined : parse("users.get", GraphUserSchema, body);
  }

  /** The user's mailbox settings, or undefined when the app may not read them (or there is no mailbox). */
  public async getMailboxSettings(
    userId: string,
    opts: GraphCallOptions = {},
  ): Promise<Record<string, unknown> | undefined> {
    if (!this.#mailboxReadable) return undefined;
    const answer = await this.#raw(
      "users.mailboxSettings",
      "GET",
      `/users/${encodeURIComponent(userId)}/mailboxSettings`,
      opts,
      [403, 404],
    );
    if (answer.status === 403) this.#mailboxReadable = false;
    if (answer.status !== 200) return undefined;
    const body = jsonOrUndefined(answer.text);
    return body && typeof body === "object" ? (body as Record<string, unknown>) : undefined;
  }

  /** The groups the user is a member of, directly or (`transitive`) through nested groups. */
  public async memberOf(
    userId: string,
    transitive: boolean,
    opts: GraphCallOptions = {},
  ): Promise<GraphGroup[]> {
    const relation = transitive ? "transitiveMemberOf" : "memberOf";
    const first = `/users/${encodeURIComponent(userId)}/${relation}/microsoft.graph.group?$select=id,displayName&$top=999`;
    const groups: GraphGroup[] = [];
    for await (const item of this.#pages(`users.${relation}`, first, opts)) {
      groups.push(parse(`users.${relation}`, GraphGroupSchema, item));
    }
    return groups;
  }

  /** The group, or undefined when it no longer exists. */
  public async getGroup(groupId: string, opts: GraphCallOptions = {}): Promise<GraphGroup | undefined> {
    const body = await this.#send(
      "groups.get",
      "GET",
      `/groups/${encodeURIComponent(groupId)}?$select=id,displayName,description`,
      opts,
      [404],
    );
    return body === undefined ? undefined : parse("groups.get", GraphGroupSchema, body);
  }

  /**
   * The members added to and removed from a group since `deltaLink` (every member, as added, when
   * there is none), and the link for next time. A link Graph no longer knows starts again.
   */
  public async groupMemberDelta(
    groupId: string,
    deltaLink: string | undefined,
    opts: GraphCallOptions = {},
  ): Promise<{ added: string[]; removed: string[]; deltaLink?: string; restarted: boolean }> {
    const initial = `/groups/delta?$filter=id eq '${groupId.replaceAll("'", "''")}'&$select=displayName,description,members`;
    const graphUrl = await this.#credentials.graphUrl();
    let url = deltaLink?.startsWith(graphUrl) && deltaLink ? deltaLink.slice(graphUrl.length) : initial;
    let restarted = deltaLink === undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const added = new Set<string>();
      const removed = new Set<string>();
      let next: string | undefined = url;
      let link: string | undefined;
      let expired = false;
      for (let page = 0; next; page++) {
        if (page >= MAX_PAGES) throw new GraphResponseError("groups.delta", `more than ${MAX_PAGES} pages`);
        const answer = await this.#raw("groups.delta", "GET", next, opts, [400, 410]);
        if (answer.status === 400 || answer.status === 410) {
          expired = true;
          break;
        }
        const body = parse("groups.delta", PageSchema, jsonOrUndefined(answer.text));
        for (const item of body.value) {
          const group = parse("groups.delta", DeltaGroupSchema, item);
          if (group.id !== groupId) continue;
          for (const member of group["members@delta"] ?? []) {
            if (member["@odata.type"] && member["@odata.type"].toLowerCase() !== "#microsoft.graph.user")
              continue;
            if (member["@removed"] !== undefined) {
              removed.add(member.id);
              added.delete(member.id);
            } else {
              added.add(member.id);
              removed.delete(member.id);
            }
          }
        }
        link = body["@odata.deltaLink"];
        next = body["@odata.nextLink"] && this.#relative(body["@odata.nextLink"], graphUrl);
      }
      if (!expired) return { added: [...added], removed: [...removed], deltaLink: link, restarted };
      // The saved link expired (Graph keeps them for a limited time): read every member again.
      if (url === initial)
        throw new GraphResponseError("groups.delta", "Graph refused the initial delta query");
      url = initial;
      restarted = true;
    }
    throw new GraphResponseError("groups.delta", "no delta link");
  }

  /** Every user of the tenant, a page at a time (`cursor`: Graph's next link). */
  public async listUsersPage(
    cursor: string | undefined,
    opts: GraphCallOptions = {},
  ): Promise<{ users: (Record<string, unknown> & GraphUser)[]; next?: string }> {
    const graphUrl = await this.#credentials.graphUrl();
    const path = cursor
      ? this.#relative(cursor, graphUrl)
      : `/users?$select=${USER_FIELDS.join(",")}&$top=999`;
    const body = parse("users.list", PageSchema, await this.#send("users.list", "GET", path, opts));
    return {
      users: body.value.map((u) => parse("users.list", GraphUserSchema, u)),
      next: body["@odata.nextLink"],
    };
  }

  /** The ids of a group's user members (transitively when asked). */
  public async groupMemberIds(
    groupId: string,
    transitive: boolean,
    opts: GraphCallOptions = {},
  ): Promise<string[]> {
    const relation = transitive ? "transitiveMembers" : "members";
    const ids: string[] = [];
    for await (const item of this.#pages(
      `groups.${relation}`,
      `/groups/${encodeURIComponent(groupId)}/${relation}/microsoft.graph.user?$select=id&$top=999`,
      opts,
    )) {
      ids.push(parse(`groups.${relation}`, z.looseObject({ id: z.string().min(1) }), item).id);
    }
    return ids;
  }

  /** The subscription, or undefined when Graph no longer has it. */
  public async getSubscription(
    id: string,
    opts: GraphCallOptions = {},
  ): Promise<GraphSubscription | undefined> {
    const body = await this.#send(
      "subscriptions.get",
      "GET",
      `/subscriptions/${encodeURIComponent(id)}`,
      opts,
      [404],
    );
    return body === undefined ? undefined : parse("subscriptions.get", SubscriptionSchema, body);
  }

  public async createSubscription(
    request: { resource: string; notificationUrl: string; clientState: string; expirationDateTime: string },
    opts: GraphCallOptions = {},
  ): Promise<GraphSubscription> {
    const body = await this.#send("subscriptions.create", "POST", "/subscriptions", opts, [], {
      changeType: "created,updated,deleted",
      notificationUrl: request.notificationUrl,
      lifecycleNotificationUrl: request.notificationUrl,
      resource: request.resource,
      expirationDateTime: request.expirationDateTime,
      clientState: request.clientState,
    });
    return parse("subscriptions.create", SubscriptionSchema, body);
  }

  /** Renews the subscription; undefined when Graph no longer has it. */
  public async renewSubscription(
    id: string,
    expirationDateTime: string,
    opts: GraphCallOptions = {},
  ): Promise<GraphSubscription | undefined> {
    const body = await this.#send(
      "subscriptions.renew",
      "PATCH",
      `/subscriptions/${encodeURIComponent(id)}`,
      opts,
      [404],
      { expirationDateTime },
    );
    return body === undefined ? undefined : parse("subscriptions.renew", SubscriptionSchema, body);
  }

  public async deleteSubscription(id: string, opts: GraphCallOptions = {}): Promise<void> {
    await this.#raw(
      "subscriptions.delete",
      "DELETE",
      `/subscriptions/${encodeURIComponent(id)}`,
      opts,
      [404],
    );
  }

  async *#pages(operation: string, first: string, opts: GraphCallOptions): AsyncGenerator<unknown> {
    const graphUrl = await this.#credentials.graphUrl();
    let next: string | undefined = first;
    for (let page = 0; next; page++) {
      if (page >= MAX_PAGES) throw new GraphResponseError(operation, `more than ${MAX_PAGES} pages`);
      const body: z.output<typeof PageSchema> = parse(
        operation,
        PageSchema,
        await this.#send(operation, "GET", next, opts),
      );
      yield* body.value;
      next = body["@odata.nextLink"] && this.#relative(body["@odata.nextLink"], graphUrl);
    }
  }

  /** A next or delta link as a path under the Graph URL; a link elsewhere is refused (it would get our token). */
  #relative(link: string, graphUrl: string): string {
    if (!link.startsWith(`${graphUrl}/`)) {
      throw new GraphResponseError("paging", "a next link outside the Graph URL");
    }
    return link.slice(graphUrl.length);
  }

  async #send(
    operation: string,
    method: Method,
    path: string,
    opts: GraphCallOptions,
    answers: number[] = [],
    body?: unknown,
  ) {
    const answer = await this.#raw(operation, method, path, opts, answers, body);
    return answers.includes(answer.status) && answer.status >= 300 ? undefined : jsonOrUndefined(answer.text);
  }

  async #raw(
    operation: string,
    method: Method,
    path: string,
    opts: GraphCallOptions,
    answers: number[],
    body?: unknown,
  ) {
    const credentials = this.#credentials;
    return this.#http.send({
      operation,
      method,
      url: (await credentials.graphUrl()) + path,
      deadline: opts.deadline,
      answers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: async () => ({
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        Authorization: await credentials.authorization(),
      }),
    });
  }
}

function parse<T extends z.ZodType>(operation: string, schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new GraphResponseError(operation, `unexpected response: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Graph's error code and the start of its message; neither holds a credential. */
function errorDetail(text: string): string {
  const parsed = ErrorBodySchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success || !parsed.data.error) return "";
  const { code, message } = parsed.data.error;
  return [code, message?.slice(0, 200)].filter(Boolean).join(" ");
}
