/**
 * A fake Microsoft Graph (and its token endpoint) on 127.0.0.1, for tests and `npm start`: real
 * HTTP, the calls the Entra source makes, answered as Graph answers them.
 *
 * - `POST /{tenant}/oauth2/v2.0/token`: client credentials with the app's secret, a Bearer token;
 * - `GET /v1.0/users/{id}`, `/users/{id}/memberOf|transitiveMemberOf/microsoft.graph.group`,
 *   `/users/{id}/mailboxSettings` (403 unless readable), `/users` (paged), `/groups/{id}`,
 *   `/groups/{id}/members|transitiveMembers/microsoft.graph.user`;
 * - `GET /v1.0/groups/delta?$filter=id eq '…'` and its delta links: members added and removed
 *   (`@removed`) since the link was given;
 * - `POST|GET|PATCH|DELETE /v1.0/subscriptions`: a create first validates the notification URL
 *   (Graph's `?validationToken=` POST, which must echo the token as text/plain within 10 s);
 * - faults per path (status and headers, e.g. 429 with `Retry-After`), a set number of times;
 * - {@link FakeGraph.notify} posts a change notification to a subscription's URL, as Graph would.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeGraphUser extends Record<string, unknown> {
  id: string;
}

export interface FakeGraphGroup {
  id: string;
  displayName: string;
  description?: string;
  /** User (or group) ids. */
  members: Set<string>;
}

export interface GraphFault {
  readonly path?: RegExp;
  readonly method?: string;
  /** @default forever */
  readonly times?: number;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FakeGraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState: string;
  expirationDateTime: string;
}

export interface GraphRequest {
  readonly method: string;
  readonly path: string;
  status: number;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const graphError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { error: { code, message } },
});

export class FakeGraph {
  public readonly tenantId = "84bd8158-6d4d-4958-8b9f-9d6445542f95";
  public readonly clientId = "11111111-2222-3333-4444-555555555555";
  public readonly clientSecret = "fake-graph-secret";
  public readonly users = new Map<string, FakeGraphUser>();
  public readonly groups = new Map<string, FakeGraphGroup>();
  public readonly subscriptions = new Map<string, FakeGraphSubscription>();
  public readonly requests: GraphRequest[] = [];
  /** Users a page of `GET /users`. */
  public pageSize = 100;
  /** Whether the app may read mailbox settings (MailboxSettings.Read). */
  public mailboxReadable = false;
  /** Mailbox settings by user id. */
  public readonly mailboxSettings = new Map<string, Record<string, unknown>>();
  readonly #server: Server;
  readonly #issued = new Set<string>();
  #faults: (GraphFault & { remaining: number })[] = [];
  /** Delta token -> the group's members when the token was given. */
  readonly #deltaSnapshots = new Map<string, { groupId: string; members: Set<string> }>();

  private constructor(server: Server) {
    this.#server = server;
  }

  public static async start(): Promise<FakeGraph> {
    let fake: FakeGraph | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res);
    });
    fake = new FakeGraph(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The secret's JSON, as an administrator would store it. */
  public get secret(): string {
    return JSON.stringify({
      tenantId: this.tenantId,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      authorityUrl: this.url,
      graphUrl: `${this.url}/v1.0`,
    });
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  public addUser(user: FakeGraphUser): FakeGraphUser {
    this.users.set(user.id, user);
    return user;
  }

  public addGroup(group: Omit<FakeGraphGroup, "members"> & { members?: string[] }): FakeGraphGroup {
    const created = { ...group, members: new Set(group.members ?? []) };
    this.groups.set(group.id, created);
    return created;
  }

  public inject(fault: GraphFault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** Posts Graph's notification body for a change to every subscription on the resource's collection. */
  public async notify(
    changeType: "created" | "updated" | "deleted",
    resource: string,
    options: { clientState?: string } = {},
  ): Promise<number[]> {
    const [collection, id] = resource.split("/");
    const statuses: number[] = [];
    for (const subscription of this.subscriptions.values()) {
      if (subscription.resource.replace(/^\//, "").toLowerCase() !== collection?.toLowerCase()) continue;
      const odataType =
        collection?.toLowerCase() === "users" ? "#Microsoft.Graph.User" : "#Microsoft.Graph.Group";
      const body = {
        value: [
          {
            subscriptionId: subscription.id,
            subscriptionExpirationDateTime: subscription.expirationDateTime,
            clientState: options.clientState ?? subscription.clientState,
            changeType,
            resource,
            tenantId: this.tenantId,
            resourceData: {
              "@odata.type": odataType,
              "@odata.id": resource,
              id,
              organizationId: this.tenantId,
            },
          },
        ],
      };
      statuses.push(await this.#post(subscription.notificationUrl, body));
    }
    return statuses;
  }

  /** Posts a lifecycle notification for a subscription, as Graph would. */
  public async lifecycle(
    subscriptionId: string,
    lifecycleEvent: "reauthorizationRequired" | "subscriptionRemoved" | "missed",
  ): Promise<number> {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) throw new Error(`no subscription ${subscriptionId}`);
    if (lifecycleEvent === "subscriptionRemoved") this.subscriptions.delete(subscriptionId);
    return this.#post(subscription.lifecycleNotificationUrl ?? subscription.notificationUrl, {
      value: [
        {
          lifecycleEvent,
          subscriptionId,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
          tenantId: this.tenantId,
          clientState: subscription.clientState,
          organizationId: this.tenantId,
        },
      ],
    });
  }

  async #post(url: string, body: unknown): Promise<number> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await response.text();
    return response.status;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const method = req.method ?? "GET";
    let reply: Reply;
    if (method === "POST" && url.pathname === `/${this.tenantId}/oauth2/v2.0/token`) {
      reply = this.#token(new URLSearchParams(raw));
    } else {
      const record: GraphRequest = { method, path: `${url.pathname}${url.search}`, status: 0 };
      this.requests.push(record);
      const fault = this.#faults.find(
        (f) =>
          f.remaining > 0 && (!f.path || f.path.test(url.pathname)) && (!f.method || f.method === method),
      );
      if (fault) fault.remaining--;
      reply = fault
        ? {
            ...graphError(
              fault.status,
              fault.status === 429 ? "TooManyRequests" : "injected",
              "Injected fault",
            ),
            headers: { ...fault.headers },
          }
        : (this.#authenticate(req.headers.authorization) ?? (await this.#route(method, url, raw)));
      record.status = reply.status;
    }
    res.writeHead(reply.status, { "Content-Type": "application/json", ...(reply.headers ?? {}) });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  #token(form: URLSearchParams): Reply {
    if (form.get("grant_type") !== "client_credentials")
      return { status: 400, body: { error: "unsupported_grant_type" } };
    if (form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret) {
      return { status: 401, body: { error: "invalid_client" } };
    }
    if (form.get("scope") !== "https://graph.microsoft.com/.default")
      return { status: 400, body: { error: "invalid_scope" } };
    const token = `graph-${randomUUID()}`;
    this.#issued.add(token);
    return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: 3599 } };
  }

  #authenticate(header: string | undefined): Reply | undefined {
    const [scheme, token] = (header ?? "").split(" ");
    if (scheme === "Bearer" && token && this.#issued.has(token)) return undefined;
    return graphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
  }

  #groupsOf(userId: string, transitive: boolean): FakeGraphGroup[] {
    const direct = [...this.groups.values()].filter((g) => g.members.has(userId));
    if (!transitive) return direct;
    const found = new Map(direct.map((g) => [g.id, g]));
    let grew = true;
    while (grew) {
      grew = false;
      for (const group of this.groups.values()) {
        if (!found.has(group.id) && [...found.keys()].some((id) => group.members.has(id))) {
          found.set(group.id, group);
          grew = true;
        }
      }
    }
    return [...found.values()];
  }

  async #route(method: string, url: URL, raw: string): Promise<Reply> {
    const path = url.pathname.replace(/^\/v1\.0/, "");
    const notFound = graphError(404, "Request_ResourceNotFound", "Resource does not exist.");
    let match: RegExpExecArray | null;
    if (path === "/subscriptions" && method === "POST") return this.#subscribe(raw);
    match = /^\/subscriptions\/([^/]+)$/.exec(path);
    if (match) {
      const subscription = this.subscriptions.get(decodeURIComponent(match[1] ?? ""));
      if (!subscription) return notFound;
      if (method === "GET") return { status: 200, body: subscription };
      if (method === "DELETE") {
        this.subscriptions.delete(subscription.id);
        return { status: 204 };
      }
      if (method === "PATCH") {
        subscription.expirationDateTime = (
          JSON.parse(raw) as { expirationDateTime: string }
        ).expirationDateTime;
        return { status: 200, body: subscription };
      }
    }
    if (method !== "GET") return graphError(405, "MethodNotAllowed", "Method not allowed");
    match = /^\/users\/([^/]+)$/.exec(path);
    if (match) {
      const user = this.users.get(decodeURIComponent(match[1] ?? ""));
      return user ? { status: 200, body: user } : notFound;
    }
    match = /^\/users\/([^/]+)\/(memberOf|transitiveMemberOf)\/microsoft\.graph\.group$/.exec(path);
    if (match) {
      const id = decodeURIComponent(match[1] ?? "");
      if (!this.users.has(id)) return notFound;
      const groups = this.#groupsOf(id, match[2] === "transitiveMemberOf");
      return {
        status: 200,
        body: {
          value: groups.map((g) => ({
            "@odata.type": "#microsoft.graph.group",
            id: g.id,
            displayName: g.displayName,
          })),
        },
      };
    }
    match = /^\/users\/([^/]+)\/mailboxSettings$/.exec(path);
    if (match) {
      if (!this.mailboxReadable) return graphError(403, "ErrorAccessDenied", "Access is denied.");
      const settings = this.mailboxSettings.get(decodeURIComponent(match[1] ?? ""));
      return settings ? { status: 200, body: settings } : notFound;
    }
    if (path === "/users") {
      const all = [...this.users.values()].sort((a, b) => a.id.localeCompare(b.id));
      const skip = Number(url.searchParams.get("$skiptoken") ?? 0);
      const page = all.slice(skip, skip + this.pageSize);
      const next =
        skip + this.pageSize < all.length
          ? `${this.url}/v1.0/users?$skiptoken=${skip + this.pageSize}`
          : undefined;
      return { status: 200, body: { value: page, ...(next ? { "@odata.nextLink": next } : {}) } };
    }
    match = /^\/groups\/([^/]+)$/.exec(path);
    if (match && match[1] !== "delta") {
      const group = this.groups.get(decodeURIComponent(match[1] ?? ""));
      return group
        ? {
            status: 200,
            body: { id: group.id, displayName: group.displayName, description: group.description ?? null },
          }
        : notFound;
    }
    match = /^\/groups\/([^/]+)\/(members|transitiveMembers)\/microsoft\.graph\.user$/.exec(path);
    if (match) {
      const group = this.groups.get(decodeURIComponent(match[1] ?? ""));
      if (!group) return notFound;
      const ids = new Set<string>();
      const visit = (g: FakeGraphGroup) => {
        for (const member of g.members) {
          const nested = this.groups.get(member);
          if (nested && match?.[2] === "transitiveMembers") visit(nested);
          else if (this.users.has(member)) ids.add(member);
        }
      };
      visit(group);
      return { status: 200, body: { value: [...ids].map((id) => ({ id })) } };
    }
    if (path === "/groups/delta") return this.#delta(url);
    return notFound;
  }

  #delta(url: URL): Reply {
    const token = url.searchParams.get("$deltatoken");
    let groupId: string | undefined;
    let before = new Set<string>();
    if (token) {
      const snapshot = this.#deltaSnapshots.get(token);
      if (!snapshot) return graphError(410, "SyncStateNotFound", "The sync state is not found.");
      groupId = snapshot.groupId;
      before = snapshot.members;
    } else {
      groupId = /id eq '([^']+)'/.exec(url.searchParams.get("$filter") ?? "")?.[1];
    }
    const group = groupId ? this.groups.get(groupId) : undefined;
    const now = new Set(group?.members ?? []);
    const next = randomUUID();
    if (groupId) this.#deltaSnapshots.set(next, { groupId, members: now });
    const delta = [
      ...[...now]
        .filter((id) => !before.has(id))
        .map((id) => ({ "@odata.type": "#microsoft.graph.user", id })),
      ...[...before]
        .filter((id) => !now.has(id))
        .map((id) => ({ "@odata.type": "#microsoft.graph.user", id, "@removed": { reason: "deleted" } })),
    ];
    return {
      status: 200,
      body: {
        value: group ? [{ id: group.id, displayName: group.displayName, "members@delta": delta }] : [],
        "@odata.deltaLink": `${this.url}/v1.0/groups/delta?$deltatoken=${next}`,
      },
    };
  }

  async #subscribe(raw: string): Promise<Reply> {
    const request = JSON.parse(raw) as Omit<FakeGraphSubscription, "id">;
    const validationToken = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    // Graph validates the endpoint before it creates the subscription: 200, text/plain, the token.
    try {
      const response = await fetch(
        `${request.notificationUrl}?validationToken=${encodeURIComponent(validationToken)}`,
        {
          method: "POST",
          signal: AbortSignal.timeout(10_000),
        },
      );
      const text = await response.text();
      if (
        response.status !== 200 ||
        !response.headers.get("content-type")?.startsWith("text/plain") ||
        text !== validationToken
      ) {
        return graphError(
          400,
          "ValidationError",
          "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
        );
      }
    } catch {
      return graphError(400, "ValidationError", "Subscription validation request timed out.");
    }
    const subscription = { ...request, id: randomUUID() };
    this.subscriptions.set(subscription.id, subscription);
    return { status: 201, body: subscription };
  }
}
