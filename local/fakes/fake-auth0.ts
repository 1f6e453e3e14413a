/**
 * A fake Auth0 tenant's Management API on 127.0.0.1, for tests and `npm start`: real HTTP, the
 * calls the adapter makes, answered as Auth0 answers them.
 *
 * - `POST /oauth/token`: client credentials (`client_id`, `client_secret`, `audience`), a Bearer token;
 * - `GET /api/v2/users/{id}`: the user, or 404 `inexistent_user` once deleted;
 * - `GET /api/v2/users/{id}/roles?per_page&page`: the user's roles, paged;
 * - `Authorization: Bearer <issued token>`, else 401;
 * - a rate limit per window: 429 `too_many_requests`, and `X-RateLimit-Limit/Remaining/Reset`
 *   (epoch seconds) on every answer, as Auth0 sends them;
 * - faults per path: status and headers, a set number of times.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeAuth0User extends Record<string, unknown> {
  user_id: string;
}

export interface FakeAuth0Role {
  id: string;
  name: string;
  description?: string;
}

export interface Auth0Fault {
  /** Matched against the path. */
  readonly path?: RegExp;
  /** @default forever */
  readonly times?: number;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FakeAuth0Options {
  /** The machine-to-machine application allowed a token. @default test-client / test-secret */
  readonly client?: { readonly id: string; readonly secret: string };
  /** Requests per window before 429. @default unlimited */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
}

export interface Auth0Request {
  readonly method: string;
  readonly path: string;
  status: number;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const auth0Error = (status: number, errorCode: string, message: string): Reply => ({
  status,
  body: { statusCode: status, error: errorCode, message, errorCode },
});

export class FakeAuth0 {
  public readonly users = new Map<string, FakeAuth0User>();
  public readonly roles = new Map<string, FakeAuth0Role>();
  /** userId -> roleIds */
  public readonly assignments = new Map<string, Set<string>>();
  public readonly requests: Auth0Request[] = [];
  /** Token requests made, successful or not. */
  public tokenRequests = 0;
  readonly #server: Server;
  readonly #client: { id: string; secret: string };
  readonly #issued = new Set<string>();
  #rateLimit?: { limit: number; windowMs: number; windowStart: number; used: number };
  #faults: (Auth0Fault & { remaining: number })[] = [];

  private constructor(server: Server, options: FakeAuth0Options) {
    this.#server = server;
    this.#client = options.client ?? { id: "test-client", secret: "test-secret" };
    if (options.rateLimit) this.setRateLimit(options.rateLimit);
  }

  public static async start(options: FakeAuth0Options = {}): Promise<FakeAuth0> {
    let fake: FakeAuth0 | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res);
    });
    fake = new FakeAuth0(server, options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The secret's JSON for this tenant, as an administrator would store it. */
  public get secret(): string {
    return JSON.stringify({ domain: this.url, clientId: this.#client.id, clientSecret: this.#client.secret });
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  public addUser(user: FakeAuth0User): FakeAuth0User {
    this.users.set(user.user_id, user);
    if (!this.assignments.has(user.user_id)) this.assignments.set(user.user_id, new Set());
    return user;
  }

  public addRole(role: FakeAuth0Role): void {
    this.roles.set(role.id, role);
  }

  public assignRole(userId: string, roleId: string): void {
    this.assignments.get(userId)?.add(roleId);
  }

  public removeRole(userId: string, roleId: string): void {
    this.assignments.get(userId)?.delete(roleId);
  }

  public deleteUser(userId: string): void {
    this.users.delete(userId);
    this.assignments.delete(userId);
  }

  public inject(fault: Auth0Fault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  public setRateLimit(rateLimit: { limit: number; windowMs: number } | undefined): void {
    this.#rateLimit = rateLimit && { ...rateLimit, windowStart: Date.now(), used: 0 };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const record: Auth0Request = { method: req.method ?? "GET", path: url.pathname, status: 0 };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let reply: Reply;
    if (record.method === "POST" && url.pathname === "/oauth/token") {
      reply = this.#token(raw, req.headers["content-type"] ?? "");
    } else {
      this.requests.push(record);
      const fault = this.#faults.find((f) => f.remaining > 0 && (!f.path || f.path.test(url.pathname)));
      if (fault) fault.remaining--;
      reply = fault
        ? { ...auth0Error(fault.status, "injected", "Injected fault"), headers: { ...fault.headers } }
        : (this.#authenticate(req.headers.authorization) ??
          this.#throttle() ??
          this.#route(record.method, url));
      record.status = reply.status;
      const window = this.#rateLimit;
      if (window && reply.status !== 429) {
        reply.headers = {
          "X-RateLimit-Limit": String(window.limit),
          "X-RateLimit-Remaining": String(Math.max(0, window.limit - window.used)),
          "X-RateLimit-Reset": String(Math.ceil((window.windowStart + window.windowMs) / 1000)),
          ...reply.headers,
        };
      }
    }
    res.writeHead(reply.status, { "Content-Type": "application/json", ...(reply.headers ?? {}) });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  #token(raw: string, contentType: string): Reply {
    this.tokenRequests++;
    const form = contentType.includes("json")
      ? new URLSearchParams(JSON.parse(raw) as Record<string, string>)
      : new URLSearchParams(raw);
    if (form.get("grant_type") !== "client_credentials") {
      return { status: 400, body: { error: "unsupported_grant_type" } };
    }
    if (form.get("client_id") !== this.#client.id || form.get("client_secret") !== this.#client.secret) {
      return { status: 401, body: { error: "access_denied", error_description: "Unauthorized" } };
    }
    if (form.get("audience") !== `${this.url}/api/v2/`) {
      return { status: 403, body: { error: "access_denied", error_description: "Service not enabled" } };
    }
    const token = `a0-at-${randomUUID()}`;
    this.#issued.add(token);
    return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: 86_400 } };
  }

  #authenticate(header: string | undefined): Reply | undefined {
    const [scheme, token] = (header ?? "").split(" ");
    if (scheme === "Bearer" && token && this.#issued.has(token)) return undefined;
    return auth0Error(401, "Unauthorized", "Invalid token");
  }

  #throttle(): Reply | undefined {
    const limit = this.#rateLimit;
    if (!limit) return undefined;
    const now = Date.now();
    if (now - limit.windowStart >= limit.windowMs) {
      limit.windowStart = now;
      limit.used = 0;
    }
    limit.used++;
    if (limit.used <= limit.limit) return undefined;
    return {
      ...auth0Error(429, "too_many_requests", "Global limit has been reached"),
      headers: {
        "X-RateLimit-Limit": String(limit.limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": String(Math.ceil((limit.windowStart + limit.windowMs) / 1000)),
      },
    };
  }

  #route(method: string, url: URL): Reply {
    const notFound = auth0Error(404, "inexistent_user", "The user does not exist.");
    if (method !== "GET") return auth0Error(404, "Not Found", "Not Found");
    let match = /^\/api\/v2\/users\/([^/]+)$/.exec(url.pathname);
    if (match) {
      const user = this.users.get(decodeURIComponent(match[1] ?? ""));
      return user ? { status: 200, body: user } : notFound;
    }
    match = /^\/api\/v2\/users\/([^/]+)\/roles$/.exec(url.pathname);
    if (match) {
      const ids = this.assignments.get(decodeURIComponent(match[1] ?? ""));
      if (!ids) return notFound;
      const all = [...ids].flatMap((id) => this.roles.get(id) ?? []);
      const perPage = Number(url.searchParams.get("per_page") ?? 50);
      const page = Number(url.searchParams.get("page") ?? 0);
      return { status: 200, body: all.slice(page * perPage, (page + 1) * perPage) };
    }
    return auth0Error(404, "Not Found", "Not Found");
  }
}
