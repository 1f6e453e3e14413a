/**
 * A fake Okta Management API on 127.0.0.1, for tests and `npm start`: real HTTP, the calls the
 * adapter makes, answered as Okta answers them.
 *
 * - `GET /api/v1/users/{id}`: the user, or 404 `E0000007` once deleted;
 * - `GET /api/v1/users`: every user but DEPROVISIONED ones, paged with `limit` (at most 200) and
 *   `after`, the next page in `Link: rel="next"`, as Okta lists them;
 * - `GET /api/v1/users/{id}/groups`: the user's groups, paged with `limit` and a `Link: rel="next"`;
 * - `GET /api/v1/groups/{id}`, `GET /api/v1/apps/{appId}/users/{userId}` (404 when not assigned);
 * - `POST /oauth2/v1/token`: client credentials with a `private_key_jwt` assertion, verified
 *   against the service app's public key;
 * - `Authorization: SSWS <token>` or `Bearer <issued token>`, else 401 `E0000011`;
 * - a rate limit per window: 429 `E0000047` with `X-Rate-Limit-Limit/Remaining/Reset` (epoch s);
 * - faults per path: status and headers, delay, a set number of times.
 */
import { createPublicKey, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeOktaUser {
  id: string;
  status: string;
  profile: Record<string, unknown>;
}

export interface FakeOktaGroup {
  id: string;
  type: string;
  profile: { name: string; description: string | null };
}

export interface OktaFault {
  /** Matched against the path. */
  readonly path?: RegExp;
  /** @default forever */
  readonly times?: number;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly delayMs?: number;
}

export interface FakeOktaOptions {
  /** SSWS tokens accepted. @default ["okta-test-token"] */
  readonly apiTokens?: readonly string[];
  /** OAuth service apps: client id and the PEM public key of its JWT signing key. */
  readonly serviceApps?: readonly { readonly clientId: string; readonly publicKey: string }[];
  /** Requests per window before 429. @default unlimited */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Page size of a user's groups. @default 200 */
  readonly groupsPageSize?: number;
}

export interface OktaRequest {
  readonly method: string;
  readonly path: string;
  status: number;
}

interface ActiveFault extends OktaFault {
  remaining: number;
}

const oktaError = (status: number, errorCode: string, errorSummary: string) => ({
  status,
  body: {
    errorCode,
    errorSummary,
    errorLink: errorCode,
    errorId: `oae${randomUUID().slice(0, 8)}`,
    errorCauses: [],
  },
});

export class FakeOkta {
  public readonly users = new Map<string, FakeOktaUser>();
  public readonly groups = new Map<string, FakeOktaGroup>();
  /** userId -> groupIds */
  public readonly memberships = new Map<string, Set<string>>();
  /** appId -> userIds */
  public readonly appAssignments = new Map<string, Set<string>>();
  public readonly requests: OktaRequest[] = [];
  readonly #server: Server;
  readonly #apiTokens: Set<string>;
  readonly #serviceApps: FakeOktaOptions["serviceApps"];
  readonly #issued = new Map<string, number>();
  readonly #groupsPageSize: number;
  #rateLimit?: { limit: number; windowMs: number; windowStart: number; used: number };
  #faults: ActiveFault[] = [];
  /** Pages of `/api/v1/users` (1-based) that fail, with the status they fail with. */
  readonly #failingUserPages = new Map<number, number>();
  #nextId = 1;

  private constructor(server: Server, options: FakeOktaOptions) {
    this.#server = server;
    this.#apiTokens = new Set(options.apiTokens ?? ["okta-test-token"]);
    this.#serviceApps = options.serviceApps ?? [];
    this.#groupsPageSize = options.groupsPageSize ?? 200;
    if (options.rateLimit) this.setRateLimit(options.rateLimit);
  }

  public static async start(options: FakeOktaOptions = {}): Promise<FakeOkta> {
    let fake: FakeOkta | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res);
    });
    fake = new FakeOkta(server, options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  // ---- the directory -----------------------------------------------------------------------

  public addUser(
    profile: Record<string, unknown> & { login: string },
    options: { status?: string; id?: string } = {},
  ): FakeOktaUser {
    const user = {
      id: options.id ?? `00u${String(this.#nextId++).padStart(17, "0")}`,
      status: options.status ?? "ACTIVE",
      profile: { ...profile },
    };
    this.users.set(user.id, user);
    this.memberships.set(user.id, new Set());
    return user;
  }

  public addGroup(
    name: string,
    options: { description?: string | null; type?: string; id?: string } = {},
  ): FakeOktaGroup {
    const group = {
      id: options.id ?? `00g${String(this.#nextId++).padStart(17, "0")}`,
      type: options.type ?? "OKTA_GROUP",
      profile: { name, description: options.description ?? null },
    };
    this.groups.set(group.id, group);
    return group;
  }

  public addToGroup(userId: string, groupId: string): void {
    this.memberships.get(userId)?.add(groupId);
  }

  public removeFromGroup(userId: string, groupId: string): void {
    this.memberships.get(userId)?.delete(groupId);
  }

  public assignApp(appId: string, userId: string): void {
    const users = this.appAssignments.get(appId) ?? new Set<string>();
    users.add(userId);
    this.appAssignments.set(appId, users);
  }

  public unassignApp(appId: string, userId: string): void {
    this.appAssignments.get(appId)?.delete(userId);
  }

  public deleteUser(userId: string): void {
    this.users.delete(userId);
    this.memberships.delete(userId);
  }

  // ---- faults ------------------------------------------------------------------------------

  public inject(fault: OktaFault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** Every request for page `page` (1-based) of `/api/v1/users` fails with `status`. */
  public failUsersPage(page: number, status = 500): void {
    this.#failingUserPages.set(page, status);
  }

  public setRateLimit(rateLimit: { limit: number; windowMs: number } | undefined): void {
    this.#rateLimit = rateLimit && { ...rateLimit, windowStart: Date.now(), used: 0 };
  }

  public revokeApiToken(token: string): void {
    this.#apiTokens.delete(token);
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const record: OktaRequest = { method: req.method ?? "GET", path: url.pathname, status: 0 };
    this.requests.push(record);
    const raw = await readBody(req);
    const fault = this.#faults.find((f) => f.remaining > 0 && (!f.path || f.path.test(url.pathname)));
    if (fault) fault.remaining--;
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));

    let reply: { status: number; body?: unknown; headers?: Record<string, string> };
    if (fault?.status) {
      reply = {
        ...oktaError(fault.status, "E0000009", "Internal Server Error"),
        headers: { ...fault.headers },
      };
    } else if (record.method === "POST" && url.pathname === "/oauth2/v1/token") {
      reply = this.#token(new URLSearchParams(raw));
    } else {
      reply =
        this.#authenticate(req.headers.authorization) ?? this.#throttle() ?? this.#route(record.method, url);
    }
    record.status = reply.status;
    // As Okta does, every answer says what is left of the window and when it resets.
    const window = this.#rateLimit;
    if (window && reply.status !== 429) {
      reply.headers = {
        "X-Rate-Limit-Limit": String(window.limit),
        "X-Rate-Limit-Remaining": String(Math.max(0, window.limit - window.used)),
        "X-Rate-Limit-Reset": String(Math.ceil((window.windowStart + window.windowMs) / 1000)),
        ...reply.headers,
      };
    }
    res.writeHead(reply.status, { "Content-Type": "application/json", ...(reply.headers ?? {}) });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  #authenticate(header: string | undefined) {
    const [scheme, token] = (header ?? "").split(" ");
    if (scheme === "SSWS" && token && this.#apiTokens.has(token)) return undefined;
    if (scheme === "Bearer" && token && (this.#issued.get(token) ?? 0) > Date.now()) return undefined;
    return oktaError(401, "E0000011", "Invalid token provided");
  }

  #throttle() {
    const limit = this.#rateLimit;
    if (!limit) return undefined;
    const now = Date.now();
    if (now - limit.windowStart >= limit.windowMs) {
      limit.windowStart = now;
      limit.used = 0;
    }
    limit.used++;
    const reset = String(Math.ceil((limit.windowStart + limit.windowMs) / 1000));
    if (limit.used <= limit.limit) return undefined;
    return {
      ...oktaError(429, "E0000047", "API call exceeded rate limit due to too many requests."),
      headers: {
        "X-Rate-Limit-Limit": String(limit.limit),
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": reset,
      },
    };
  }

  #route(method: string, url: URL): { status: number; body?: unknown; headers?: Record<string, string> } {
    const notFound = oktaError(404, "E0000007", `Not found: Resource not found: ${url.pathname}`);
    if (method !== "GET") return notFound;
    if (url.pathname === "/api/v1/users") return this.#listUsers(url);
    let match = /^\/api\/v1\/users\/([^/]+)$/.exec(url.pathname);
    if (match) {
      const user = this.users.get(decodeURIComponent(match[1] ?? ""));
      return user ? { status: 200, body: user } : notFound;
    }
    match = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(url.pathname);
    if (match) {
      const ids = this.memberships.get(decodeURIComponent(match[1] ?? ""));
      if (!ids) return notFound;
      const all = [...ids].flatMap((id) => this.groups.get(id) ?? []);
      const after = url.searchParams.get("after");
      const start = after ? all.findIndex((g) => g.id === after) + 1 : 0;
      const limit = Number(url.searchParams.get("limit") ?? this.#groupsPageSize);
      const page = all.slice(start, start + limit);
      const last = page.at(-1);
      const headers: Record<string, string> = {};
      if (last && start + limit < all.length) {
        headers.Link = `<${this.url}${url.pathname}?limit=${limit}&after=${last.id}>; rel="next"`;
      }
      return { status: 200, body: page, headers };
    }
    match = /^\/api\/v1\/groups\/([^/]+)$/.exec(url.pathname);
    if (match) {
      const group = this.groups.get(decodeURIComponent(match[1] ?? ""));
      return group ? { status: 200, body: group } : notFound;
    }
    match = /^\/api\/v1\/apps\/([^/]+)\/users\/([^/]+)$/.exec(url.pathname);
    if (match) {
      const assigned = this.appAssignments.get(match[1] ?? "")?.has(match[2] ?? "");
      return assigned
        ? { status: 200, body: { id: match[2], scope: "USER", status: "PROVISIONED" } }
        : notFound;
    }
    return notFound;
  }

  /** Okta's cursor paging: `after` is the last id of the previous page, opaque to the client. */
  #listUsers(url: URL): { status: number; body?: unknown; headers?: Record<string, string> } {
    const limit = Math.min(200, Math.max(1, Number(url.searchParams.get("limit") ?? 200)));
    const all = [...this.users.values()].filter((u) => u.status !== "DEPROVISIONED");
    const after = url.searchParams.get("after");
    const start = after ? all.findIndex((u) => u.id === after) + 1 : 0;
    const page = Math.floor(start / limit) + 1;
    const failing = this.#failingUserPages.get(page);
    if (failing) return oktaError(failing, "E0000009", "Internal Server Error");
    const users = all.slice(start, start + limit);
    const last = users.at(-1);
    const headers: Record<string, string> = {};
    if (last && start + limit < all.length) {
      headers.Link = `<${this.url}/api/v1/users?limit=${limit}&after=${last.id}>; rel="next"`;
    }
    return { status: 200, body: users, headers };
  }

  /** Client credentials with `private_key_jwt`, checked as Okta checks it: signature, iss, sub, aud, exp. */
  #token(form: URLSearchParams): { status: number; body: unknown } {
    const refuse = (error: string) => ({ status: 401, body: { error, error_description: "refused" } });
    if (form.get("grant_type") !== "client_credentials")
      return { status: 400, body: { error: "unsupported_grant_type" } };
    if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
      return refuse("invalid_client");
    const [header, claims, signature] = (form.get("client_assertion") ?? "").split(".");
    if (!header || !claims || !signature) return refuse("invalid_client");
    let payload: { iss?: string; sub?: string; aud?: string; exp?: number };
    try {
      payload = JSON.parse(Buffer.from(claims, "base64url").toString());
    } catch {
      return refuse("invalid_client");
    }
    const app = this.#serviceApps?.find((a) => a.clientId === payload.iss);
    if (!app || payload.sub !== app.clientId || payload.aud !== `${this.url}/oauth2/v1/token`) {
      return refuse("invalid_client");
    }
    const valid = verify(
      "RSA-SHA256",
      Buffer.from(`${header}.${claims}`),
      createPublicKey(app.publicKey),
      Buffer.from(signature, "base64url"),
    );
    if (!valid || (payload.exp ?? 0) * 1000 < Date.now()) return refuse("invalid_client");
    const token = `okta-at-${randomUUID()}`;
    this.#issued.set(token, Date.now() + 3_600_000);
    return {
      status: 200,
      body: { token_type: "Bearer", expires_in: 3600, access_token: token, scope: form.get("scope") },
    };
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
