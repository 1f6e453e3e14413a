/**
 * A fake Google Admin SDK Directory API (and OAuth token endpoint) on 127.0.0.1, for tests and
 * `npm start`: real HTTP, the calls the Google source makes, answered as Google answers them.
 *
 * - `POST /token`: the JWT bearer grant; the assertion's RS256 signature is verified against the
 *   service account's public key, and `iss`, `sub`, `aud`, `scope` and `exp` are checked;
 * - `GET /admin/directory/v1/users/{key}` (404 once deleted), `/users?customer=` (paged),
 *   `/groups?userKey=`;
 * - `POST /admin/directory/v1/users/watch?event=`: opens a channel and sends it the `sync`
 *   message, as Google does; `POST /admin/directory_v1/channels/stop`;
 * - faults per path (status and headers), a set number of times;
 * - {@link FakeGoogleDirectory.push} sends a push for a user to the channel of that event type.
 */
import { generateKeyPairSync, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeGoogleUser extends Record<string, unknown> {
  id: string;
  primaryEmail: string;
}

export interface FakeGoogleGroup {
  id: string;
  email: string;
  name: string;
  members: Set<string>;
}

export interface FakeChannel {
  id: string;
  resourceId: string;
  event: string;
  address: string;
  token: string;
  expiration: number;
  stopped: boolean;
  messageNumber: number;
}

export interface GoogleFault {
  readonly path?: RegExp;
  readonly times?: number;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const googleError = (status: number, message: string, reason = "notFound"): Reply => ({
  status,
  body: { error: { code: status, message, errors: [{ reason, message }], status: reason } },
});

const SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
];

export class FakeGoogleDirectory {
  public readonly clientEmail = "tallyfy-sync@acme-idp.iam.gserviceaccount.com";
  public readonly subject = "it-admin@example.com";
  public readonly users = new Map<string, FakeGoogleUser>();
  public readonly groups = new Map<string, FakeGoogleGroup>();
  public readonly channels = new Map<string, FakeChannel>();
  public readonly requests: { method: string; path: string; status: number }[] = [];
  /** Token requests refused, with why. */
  public readonly refusedTokens: string[] = [];
  public pageSize = 500;
  readonly #server: Server;
  readonly #keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  readonly #issued = new Set<string>();
  #faults: (GoogleFault & { remaining: number })[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  public static async start(): Promise<FakeGoogleDirectory> {
    let fake: FakeGoogleDirectory | undefined;
    const server = createServer((req, res) => {
      fake?.handle(req, res).catch(() => res.writeHead(500).end());
    });
    fake = new FakeGoogleDirectory(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The secret's JSON: the service account key as Google Cloud downloads it, with `subject` added. */
  public get secret(): string {
    return JSON.stringify({
      type: "service_account",
      project_id: "acme-idp",
      private_key_id: "f1e2d3c4b5a6",
      private_key: this.#keys.privateKey.export({ type: "pkcs8", format: "pem" }),
      client_email: this.clientEmail,
      client_id: "109876543210987654321",
      token_uri: `${this.url}/token`,
      subject: this.subject,
      apiUrl: this.url,
    });
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  public addUser(user: FakeGoogleUser): FakeGoogleUser {
    this.users.set(user.id, user);
    return user;
  }

  public addGroup(group: Omit<FakeGoogleGroup, "members"> & { members?: string[] }): FakeGoogleGroup {
    const created = { ...group, members: new Set(group.members ?? []) };
    this.groups.set(group.id, created);
    return created;
  }

  public inject(fault: GoogleFault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** The open channels, by event type. */
  public openChannels(): FakeChannel[] {
    return [...this.channels.values()].filter((c) => !c.stopped);
  }

  /** Sends the push Google sends for `event` about the user to each open channel of that type. */
  public async push(
    event: "add" | "update" | "delete" | "makeAdmin" | "undelete",
    user: { id: string; primaryEmail: string },
    options: { token?: string } = {},
  ): Promise<number[]> {
    const statuses: number[] = [];
    for (const channel of this.openChannels().filter((c) => c.event === event)) {
      statuses.push(
        await this.#deliver(
          channel,
          event,
          {
            kind: "admin#directory#user",
            id: user.id,
            etag: `"${randomUUID()}"`,
            primaryEmail: user.primaryEmail,
          },
          options.token,
        ),
      );
    }
    return statuses;
  }

  async #deliver(channel: FakeChannel, state: string, body: unknown, token = channel.token): Promise<number> {
    channel.messageNumber++;
    const response = await fetch(channel.address, {
      method: "POST",
      headers: {
        "Content-Type": "application/json; utf-8",
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Token": token,
        "X-Goog-Channel-Expiration": new Date(channel.expiration).toUTCString(),
        "X-Goog-Resource-ID": channel.resourceId,
        "X-Goog-Resource-URI": `${this.url}/admin/directory/v1/users?alt=json&customer=my_customer&event=${channel.event}`,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": String(channel.messageNumber),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
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
    if (method === "POST" && url.pathname === "/token") {
      reply = this.#token(new URLSearchParams(raw));
    } else {
      const record = { method, path: `${url.pathname}${url.search}`, status: 0 };
      this.requests.push(record);
      const fault = this.#faults.find((f) => f.remaining > 0 && (!f.path || f.path.test(url.pathname)));
      if (fault) fault.remaining--;
      reply = fault
        ? {
            ...googleError(
              fault.status,
              "Injected fault",
              fault.status === 429 ? "rateLimitExceeded" : "injected",
            ),
            headers: { ...fault.headers },
          }
        : (this.#authenticate(req.headers.authorization) ?? (await this.#route(method, url, raw)));
      record.status = reply.status;
    }
    res.writeHead(reply.status, {
      "Content-Type": "application/json; charset=UTF-8",
      ...(reply.headers ?? {}),
    });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  #token(form: URLSearchParams): Reply {
    const refuse = (why: string): Reply => {
      this.refusedTokens.push(why);
      return { status: 400, body: { error: "invalid_grant", error_description: why } };
    };
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse("grant_type");
    const [header, claims, signature] = (form.get("assertion") ?? "").split(".");
    if (!header || !claims || !signature) return refuse("not a JWT");
    const publicKey = this.#keys.publicKey;
    if (
      !verify(
        "RSA-SHA256",
        Buffer.from(`${header}.${claims}`),
        publicKey,
        Buffer.from(signature, "base64url"),
      )
    ) {
      return refuse("signature");
    }
    const head = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: string };
    const body = JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    if (head.alg !== "RS256") return refuse("alg");
    if (body.iss !== this.clientEmail) return refuse("iss");
    if (body.sub !== this.subject) return refuse("sub");
    if (body.aud !== `${this.url}/token`) return refuse("aud");
    const scopes = String(body.scope ?? "").split(" ");
    if (!SCOPES.every((s) => scopes.includes(s)) || scopes.length !== SCOPES.length) return refuse("scope");
    if (typeof body.exp !== "number" || body.exp <= now || body.exp - now > 3600) return refuse("exp");
    if (typeof body.iat !== "number" || body.iat > now + 60) return refuse("iat");
    const token = `ya29.${randomUUID()}`;
    this.#issued.add(token);
    return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: 3599 } };
  }

  #authenticate(header: string | undefined): Reply | undefined {
    const [scheme, token] = (header ?? "").split(" ");
    if (scheme === "Bearer" && token && this.#issued.has(token)) return undefined;
    return googleError(401, "Login Required.", "required");
  }

  async #route(method: string, url: URL, raw: string): Promise<Reply> {
    const path = url.pathname;
    let match: RegExpExecArray | null;
    if (method === "POST" && path === "/admin/directory/v1/users/watch") return this.#watch(url, raw);
    if (method === "POST" && path === "/admin/directory_v1/channels/stop") {
      const { id, resourceId } = JSON.parse(raw) as { id: string; resourceId: string };
      const channel = this.channels.get(id);
      if (!channel || channel.resourceId !== resourceId || channel.stopped)
        return googleError(404, "Channel not found");
      channel.stopped = true;
      return { status: 204 };
    }
    if (method !== "GET") return googleError(405, "Method not allowed", "methodNotAllowed");
    match = /^\/admin\/directory\/v1\/users\/([^/]+)$/.exec(path);
    if (match) {
      const key = decodeURIComponent(match[1] ?? "");
      const user = this.users.get(key) ?? [...this.users.values()].find((u) => u.primaryEmail === key);
      return user
        ? { status: 200, body: { kind: "admin#directory#user", ...user } }
        : googleError(404, "Resource Not Found: userKey");
    }
    if (path === "/admin/directory/v1/users") {
      const all = [...this.users.values()].sort((a, b) => a.id.localeCompare(b.id));
      const start = Number(url.searchParams.get("pageToken") ?? 0);
      const page = all.slice(start, start + this.pageSize);
      const next = start + this.pageSize < all.length ? String(start + this.pageSize) : undefined;
      return {
        status: 200,
        body: { kind: "admin#directory#users", users: page, ...(next ? { nextPageToken: next } : {}) },
      };
    }
    if (path === "/admin/directory/v1/groups") {
      const userKey = url.searchParams.get("userKey") ?? "";
      const user =
        this.users.get(userKey) ?? [...this.users.values()].find((u) => u.primaryEmail === userKey);
      if (!user) return googleError(404, "Resource Not Found: userKey");
      const groups = [...this.groups.values()].filter((g) => g.members.has(user.id));
      return {
        status: 200,
        body: {
          kind: "admin#directory#groups",
          groups: groups.map(({ members: _m, ...g }) => ({ kind: "admin#directory#group", ...g })),
        },
      };
    }
    return googleError(404, "Not Found");
  }

  async #watch(url: URL, raw: string): Promise<Reply> {
    const event = url.searchParams.get("event") ?? "";
    if (!["add", "delete", "makeAdmin", "undelete", "update"].includes(event))
      return googleError(400, "Invalid event", "invalid");
    const request = JSON.parse(raw) as {
      id: string;
      type: string;
      address: string;
      token: string;
      params?: { ttl?: string };
    };
    if (request.type !== "web_hook") return googleError(400, "Invalid channel type", "invalid");
    const ttl = Math.min(Number(request.params?.ttl ?? 21_600), 21_600);
    const channel: FakeChannel = {
      id: request.id,
      resourceId: randomUUID().replaceAll("-", "").slice(0, 27),
      event,
      address: request.address,
      token: request.token,
      expiration: Date.now() + ttl * 1000,
      stopped: false,
      messageNumber: 0,
    };
    this.channels.set(channel.id, channel);
    // Google says hello on every new channel: a sync message, no body.
    await this.#deliver(channel, "sync", undefined).catch(() => 0);
    return {
      status: 200,
      body: {
        kind: "api#channel",
        id: channel.id,
        resourceId: channel.resourceId,
        resourceUri: `${this.url}/admin/directory/v1/users?alt=json&customer=my_customer&event=${event}`,
        token: channel.token,
        expiration: String(channel.expiration),
      },
    };
  }
}
