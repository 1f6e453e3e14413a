/**
 * A fake Tallyfy: one organization in memory behind a real HTTP server on 127.0.0.1, faithful to
 * docs/tallyfy-api.md, quirks included:
 * - Fractal envelopes and `meta.pagination` with `links: []`;
 * - roles capitalised in list and get responses, lower case in write responses (the 2026 docs
 *   examples disagree, so clients must normalise), or legacy `user_role`/`active`/`last_updated`;
 * - 422 when a member PUT lacks `first_name`, `last_name` or `timezone`, or a group PUT lacks
 *   `description`; full-replacement group and guest lists; group update answering 201, guest get
 *   "201", group delete 204 with an empty body;
 * - 401 without `X-Tallyfy-Client` or with a wrong token; 422 for an invite of an existing member
 *   and for deleting an unknown guest; guest PUT silently dropping profile fields;
 * - `q` on members matching first name, last name or email case-sensitively (the docs leave it
 *   open; the strict reading forces clients to keep their fallback honest).
 * Faults are injectable per route: status (429 with Retry-After, 5xx, 409 ...), delay, dropped
 * connections, token expiry, and a rolling-window rate limit. Every request is recorded.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeMember {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  job_title: string | null;
  job_description: string | null;
  team: string | null;
  timezone: string;
  role: "admin" | "standard" | "light";
  status: "active" | "invited" | "disabled";
  updated_at: string;
}

export interface FakeGroup {
  id: string;
  name: string;
  description: string;
  members: number[];
  guests: string[];
  last_updated: string;
}

export interface FakeGuest {
  id: number;
  email: string;
  first_name: string | null;
  last_name: string | null;
  phone_1: string | null;
  timezone: string | null;
  company_name: string | null;
  associated_members: number[];
  disabled_at: string | null;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path below `/api`, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly body: unknown;
  status: number;
  /** When it arrived, epoch milliseconds. */
  readonly at: number;
}

/** A fault for requests matching `method` and `path`; applies `times` times (default: forever). */
export interface Fault {
  readonly method?: string;
  /** Matched against the path below `/api`. A string must match exactly. */
  readonly path?: string | RegExp;
  readonly times?: number;
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer (or fail) only after this long. */
  readonly delayMs?: number;
  /** Destroy the socket instead of answering. */
  readonly dropConnection?: boolean;
  /** Apply the request first, then answer with the fault (a write that ran but reported failure). */
  readonly afterApply?: boolean;
}

export interface FakeTallyfyOptions {
  /** @default "org-fake" */
  readonly organizationId?: string;
  /** The bearer tokens accepted. @default ["test-token"] */
  readonly tokens?: readonly string[];
  /** Answer with the pre-2026 field names. @default false */
  readonly legacyFields?: boolean;
  /** Latency added to every request. @default 0 */
  readonly latencyMs?: number;
  /** Requests allowed per rolling window per token; 429 beyond. @default unlimited */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Client credentials accepted at `POST /oauth/token`. */
  readonly clients?: readonly {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly expiresIn?: number;
  }[];
}

interface ActiveFault extends Fault {
  remaining: number;
}

type Reply = { status: number; payload: unknown };
type Route = readonly [
  method: string,
  pattern: RegExp,
  action: (params: (string | undefined)[], body: Record<string, unknown>, query: URLSearchParams) => Reply,
];

class HttpProblem extends Error {
  public constructor(
    public readonly status: number,
    public readonly body: unknown,
    public readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

const notFound = () =>
  new HttpProblem(404, { error: true, message: "Resource not found", code: "RESOURCE_NOT_FOUND" });
const invalid = (errors: Record<string, string[]>) =>
  new HttpProblem(422, { message: "The given data was invalid.", errors });
const invalidDocsStyle = (errors: Record<string, string[]>) => new HttpProblem(422, { error: true, errors });

export class FakeTallyfy {
  public readonly organizationId: string;
  public readonly members = new Map<number, FakeMember>();
  public readonly groups = new Map<string, FakeGroup>();
  public readonly guests = new Map<string, FakeGuest>();
  public readonly requests: RecordedRequest[] = [];
  /** Tokens issued at `/oauth/token`, in order. */
  public readonly issuedTokens: string[] = [];
  public legacyFields: boolean;
  public latencyMs: number;

  readonly #server: Server;
  readonly #tokens: Set<string>;
  readonly #clients: NonNullable<FakeTallyfyOptions["clients"]>;
  #faults: ActiveFault[] = [];
  #rateLimit?: { limit: number; windowMs: number };
  readonly #hits = new Map<string, number[]>();
  #nextMemberId = 1001;
  #nextGuestId = 5001;

  private constructor(server: Server, options: FakeTallyfyOptions) {
    this.#server = server;
    this.organizationId = options.organizationId ?? "org-fake";
    this.#tokens = new Set(options.tokens ?? ["test-token"]);
    this.#clients = options.clients ?? [];
    this.legacyFields = options.legacyFields ?? false;
    this.latencyMs = options.latencyMs ?? 0;
    this.#rateLimit = options.rateLimit ? { ...options.rateLimit } : undefined;
  }

  /** Starts a fake on 127.0.0.1 with a random port. */
  public static async start(options: FakeTallyfyOptions = {}): Promise<FakeTallyfy> {
    let fake: FakeTallyfy | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res);
    });
    server.keepAliveTimeout = 5_000;
    fake = new FakeTallyfy(server, options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  /** Base URL to give the client, ending in `/api`. */
  public get url(): string {
    return `${this.origin}/api`;
  }

  public get origin(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The client-credentials token URL. */
  public get tokenUrl(): string {
    return `${this.origin}/oauth/token`;
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- state -------------------------------------------------------------------------------

  public addMember(member: Partial<FakeMember> & { email: string }): FakeMember {
    const created: FakeMember = {
      id: member.id ?? this.#nextMemberId++,
      first_name: "First",
      last_name: "Last",
      phone: null,
      job_title: null,
      job_description: null,
      team: null,
      timezone: "UTC",
      role: "standard",
      status: "active",
      updated_at: now(),
      ...member,
    };
    this.members.set(created.id, created);
    return created;
  }

  public addGroup(group: Partial<FakeGroup> & { name: string }): FakeGroup {
    const created: FakeGroup = {
      id: group.id ?? randomBytes(16).toString("hex"),
      description: "",
      members: [],
      guests: [],
      last_updated: now(),
      ...group,
    };
    this.groups.set(created.id, created);
    return created;
  }

  public addGuest(guest: Partial<FakeGuest> & { email: string }): FakeGuest {
    const created: FakeGuest = {
      id: guest.id ?? this.#nextGuestId++,
      first_name: null,
      last_name: null,
      phone_1: null,
      timezone: null,
      company_name: null,
      associated_members: [],
      disabled_at: null,
      ...guest,
    };
    this.guests.set(created.email.toLowerCase(), created);
    return created;
  }

  public memberByEmail(email: string): FakeMember | undefined {
    return [...this.members.values()].find((m) => m.email.toLowerCase() === email.toLowerCase());
  }

  public groupByName(name: string): FakeGroup | undefined {
    return [...this.groups.values()].find((g) => g.name === name);
  }

  /** Requests that changed (or tried to change) something. */
  public get writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.path !== "/oauth/token");
  }

  // ---- faults ------------------------------------------------------------------------------

  public inject(fault: Fault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  public clearFaults(): void {
    this.#faults = [];
  }

  /** The token stops working (401) until {@link acceptToken} is called with a new one. */
  public expireToken(token: string): void {
    this.#tokens.delete(token);
  }

  public acceptToken(token: string): void {
    this.#tokens.add(token);
  }

  public setRateLimit(rateLimit: { limit: number; windowMs: number } | undefined): void {
    this.#rateLimit = rateLimit;
    this.#hits.clear();
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    const form = (req.headers["content-type"] ?? "").includes("x-www-form-urlencoded");
    const body = raw === "" ? undefined : form ? Object.fromEntries(new URLSearchParams(raw)) : tryJson(raw);
    const path = url.pathname.replace(/^\/api(?=\/)/, "");
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(record);

    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const fault = this.#takeFault(record);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.dropConnection) {
      record.status = -1;
      req.socket.destroy();
      return;
    }

    let status: number;
    let payload: unknown;
    let problemHeaders: Readonly<Record<string, string>> = {};
    try {
      if (fault && !fault.afterApply && fault.status)
        throw new HttpProblem(fault.status, fault.body ?? faultBody(fault.status));
      ({ status, payload } = this.#route(record, req));
      if (fault?.afterApply && fault.status)
        throw new HttpProblem(fault.status, fault.body ?? faultBody(fault.status));
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      status = error.status;
      payload = error.body;
      problemHeaders = error.headers;
    }
    record.status = status;
    const headers: Record<string, string> = { ...problemHeaders, ...(fault?.headers ?? {}) };
    if (payload === undefined) {
      res.writeHead(status, headers).end();
    } else {
      res.writeHead(status, { ...headers, "Content-Type": "application/json" }).end(JSON.stringify(payload));
    }
  }

  #takeFault(record: RecordedRequest): ActiveFault | undefined {
    const fault = this.#faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method === record.method) &&
        (!f.path || (typeof f.path === "string" ? f.path === record.path : f.path.test(record.path))),
    );
    if (fault) fault.remaining--;
    return fault;
  }

  #route(record: RecordedRequest, req: IncomingMessage): Reply {
    if (record.path === "/oauth/token" && record.method === "POST") return this.#issueToken(record.body);
    this.#authenticate(req);
    this.#throttle(req);

    const org = `/organizations/${this.organizationId}`;
    if (!record.path.startsWith(`${org}/`)) {
      throw new HttpProblem(404, {
        error: true,
        message: "API endpoint not found",
        code: "ENDPOINT_NOT_FOUND",
      });
    }
    const rest = record.path.slice(org.length);
    const body = (record.body ?? {}) as Record<string, unknown>;
    for (const [method, pattern, action] of this.#routes) {
      const match = rest.match(pattern);
      if (match && method === record.method) return action(match.slice(1), body, record.query);
    }
    throw new HttpProblem(404, {
      error: true,
      message: "API endpoint not found",
      code: "ENDPOINT_NOT_FOUND",
    });
  }

  readonly #routes: readonly Route[] = [
    ["GET", /^\/users$/, (_, __, query) => this.#listMembers(query)],
    ["POST", /^\/users\/invite$/, (_, body) => this.#invite(body)],
    ["GET", /^\/users\/(\d+)$/, ([id], _, query) => ok(this.#memberWith(this.#member(id), query))],
    ["PUT", /^\/users\/(\d+)$/, ([id], body) => this.#updateMember(this.#member(id), body)],
    ["DELETE", /^\/users\/(\d+)$/, ([id]) => this.#removeMember(this.#member(id))],
    ["PUT", /^\/users\/(\d+)\/role$/, ([id], body) => this.#updateRole(this.#member(id), body)],
    ["DELETE", /^\/users\/(\d+)\/disable$/, ([id]) => this.#setStatus(this.#member(id), "disabled")],
    ["PUT", /^\/users\/(\d+)\/enable$/, ([id]) => this.#setStatus(this.#member(id), "active")],
    ["GET", /^\/groups$/, (_, __, query) => this.#listGroups(query)],
    ["POST", /^\/groups$/, (_, body) => this.#createGroup(body)],
    ["GET", /^\/groups\/([0-9a-f]{32})$/, ([id]) => ok(this.#group(id))],
    ["PUT", /^\/groups\/([0-9a-f]{32})$/, ([id], body) => this.#updateGroup(this.#group(id), body)],
    ["DELETE", /^\/groups\/([0-9a-f]{32})$/, ([id]) => this.#deleteGroup(this.#group(id))],
    ["GET", /^\/guests$/, (_, __, query) => this.#listGuests(query)],
    ["POST", /^\/guests$/, (_, body) => this.#createGuest(body)],
    // The docs give 201 for this GET.
    [
      "GET",
      /^\/guests\/([^/]+)$/,
      ([email]) => ({ status: 201, payload: { data: guestJson(this.#guest(email)) } }),
    ],
    ["PUT", /^\/guests\/([^/]+)$/, ([email], body) => this.#updateGuest(this.#guest(email), body)],
    ["DELETE", /^\/guests\/([^/]+)$/, ([email]) => this.#deleteGuest(decodeURIComponent(email ?? ""))],
    ["DELETE", /^\/guests\/([^/]+)\/disable$/, ([email]) => this.#setGuestDisabled(this.#guest(email), true)],
    ["PUT", /^\/guests\/([^/]+)\/enable$/, ([email]) => this.#setGuestDisabled(this.#guest(email), false)],
  ];

  #group(id: string | undefined): FakeGroup {
    const group = this.groups.get(id ?? "");
    if (!group) throw notFound();
    return group;
  }

  #guest(encodedEmail: string | undefined): FakeGuest {
    const guest = this.guests.get(decodeURIComponent(encodedEmail ?? "").toLowerCase());
    if (!guest) throw notFound();
    return guest;
  }

  #memberWith(member: FakeMember, query: URLSearchParams) {
    const json = this.#memberJson(member, true);
    if (!(query.get("with") ?? "").split(",").includes("groups")) return json;
    const groups = [...this.groups.values()].filter((g) => g.members.includes(member.id));
    return {
      ...json,
      groups: {
        data: groups.map((g) => ({
          id: g.id,
          name: g.name,
          logo: null,
          members: g.members,
          guests: g.guests,
        })),
      },
    };
  }

  #removeMember(member: FakeMember) {
    this.members.delete(member.id);
    for (const group of this.groups.values()) group.members = group.members.filter((id) => id !== member.id);
    return ok(this.#memberJson({ ...member, status: "disabled" }, false));
  }

  #setStatus(member: FakeMember, status: FakeMember["status"]) {
    touch(member).status = status;
    return ok(this.#memberJson(member, false));
  }

  #deleteGroup(group: FakeGroup) {
    this.groups.delete(group.id);
    return { status: 204, payload: undefined };
  }

  #deleteGuest(email: string) {
    const guest = this.guests.get(email.toLowerCase());
    // Tallyfy answers an unknown email with 422, not 404.
    if (!guest) throw invalidDocsStyle({ email: ["The selected email is invalid."] });
    this.guests.delete(email.toLowerCase());
    for (const group of this.groups.values())
      group.guests = group.guests.filter((g) => g.toLowerCase() !== email.toLowerCase());
    return ok(guestJson(guest));
  }

  #setGuestDisabled(guest: FakeGuest, disabled: boolean) {
    guest.disabled_at = disabled ? now() : null;
    return ok(guestJson(guest));
  }

  #authenticate(req: IncomingMessage): void {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (req.headers["x-tallyfy-client"] !== "APIClient" || !this.#tokens.has(token)) {
      throw new HttpProblem(401, { message: "Unauthenticated." });
    }
  }

  #throttle(req: IncomingMessage): void {
    if (!this.#rateLimit) return;
    const { limit, windowMs } = this.#rateLimit;
    const key = req.headers.authorization ?? "";
    const at = Date.now();
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > at - windowMs);
    if (hits.length >= limit) {
      const retryAfter = Math.max(1, Math.ceil(((hits[0] ?? at) + windowMs - at) / 1000));
      this.#hits.set(key, hits);
      throw new HttpProblem(
        429,
        { message: "Too Many Attempts.", code: "RATE_LIMIT_EXCEEDED" },
        { "Retry-After": String(retryAfter), "X-RateLimit-Remaining": "0" },
      );
    }
    hits.push(at);
    this.#hits.set(key, hits);
  }

  #issueToken(body: unknown): { status: number; payload: unknown } {
    const form = (body ?? {}) as Record<string, string>;
    if (form.grant_type !== "client_credentials")
      throw new HttpProblem(400, { error: "unsupported_grant_type" });
    const client = this.#clients.find(
      (c) => c.clientId === form.client_id && c.clientSecret === form.client_secret,
    );
    if (!client) throw new HttpProblem(401, { error: "invalid_client" });
    const token = `issued-${this.issuedTokens.length + 1}-${randomBytes(4).toString("hex")}`;
    this.issuedTokens.push(token);
    this.#tokens.add(token);
    return {
      status: 200,
      payload: { token_type: "Bearer", expires_in: client.expiresIn ?? 604_800, access_token: token },
    };
  }

  #member(id: string | undefined): FakeMember {
    const member = this.members.get(Number(id));
    if (!member) throw notFound();
    return member;
  }

  #memberJson(member: FakeMember, capitalise: boolean): Record<string, unknown> {
    const role = capitalise ? member.role[0]?.toUpperCase() + member.role.slice(1) : member.role;
    const common = {
      id: member.id,
      email: member.email,
      username: member.status === "invited" ? null : member.email.split("@")[0],
      first_name: member.first_name,
      last_name: member.last_name,
      full_name: `${member.first_name} ${member.last_name}`,
      phone: member.phone,
      job_title: member.job_title,
      job_description: member.job_description,
      team: member.team,
      timezone: member.timezone,
      status: member.status,
      is_default_admin: false,
    };
    return this.legacyFields
      ? { ...common, user_role: role, active: member.status === "active", last_updated: member.updated_at }
      : { ...common, role, is_active: member.status === "active", updated_at: member.updated_at };
  }

  #listMembers(query: URLSearchParams) {
    const q = query.get("q");
    const all = [...this.members.values()]
      .filter((m) => !q || m.email.includes(q) || m.first_name.includes(q) || m.last_name.includes(q))
      .sort((a, b) => a.id - b.id);
    // Only the page is rendered: an organization of 100,000 is listed a hundred at a time.
    return paginate(all, query, 9999, 9999, (m) => this.#memberJson(m as FakeMember, true));
  }

  #invite(body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    for (const field of ["email", "first_name", "last_name", "role", "message"]) {
      if (typeof body[field] !== "string" || body[field] === "")
        errors[field] = [`The ${field} field is required.`];
    }
    checkRole(body.role, errors);
    checkName(body, errors);
    if (Object.keys(errors).length > 0) throw invalid(errors);
    const email = String(body.email);
    if (this.memberByEmail(email)) throw invalid({ email: ["The email has already been taken."] });
    const member = this.addMember({
      email,
      first_name: String(body.first_name),
      last_name: String(body.last_name),
      role: body.role as FakeMember["role"],
      status: "invited",
    });
    return ok(this.#memberJson(member, false));
  }

  #updateMember(member: FakeMember, body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    for (const field of ["first_name", "last_name", "timezone"]) {
      if (typeof body[field] !== "string" || body[field] === "")
        errors[field] = [`The ${field} field is required.`];
    }
    checkName(body, errors);
    if (typeof body.phone === "string" && body.phone.length > 20)
      errors.phone = ["The phone may not be greater than 20 characters."];
    if (Object.keys(errors).length > 0) throw invalid(errors);
    const updated = touch(member);
    updated.first_name = String(body.first_name);
    updated.last_name = String(body.last_name);
    updated.timezone = String(body.timezone);
    for (const field of ["phone", "job_title", "job_description", "team"] as const) {
      if (field in body && body[field] !== undefined)
        updated[field] = body[field] === null ? null : String(body[field]);
    }
    return ok(this.#memberJson(updated, false));
  }

  #updateRole(member: FakeMember, body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    checkRole(body.role, errors);
    if (body.role === undefined) errors.role = ["The role field is required."];
    if (Object.keys(errors).length > 0) throw invalid(errors);
    touch(member).role = body.role as FakeMember["role"];
    return ok(this.#memberJson(member, false));
  }

  #listGroups(query: URLSearchParams) {
    const q = query.get("q")?.toLowerCase();
    const all = [...this.groups.values()].filter(
      (g) => !q || g.name.toLowerCase().includes(q) || g.description.toLowerCase().includes(q),
    );
    return paginate(all, query, 10, 100);
  }

  #createGroup(body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    if (typeof body.name !== "string" || body.name === "") errors.name = ["The name field is required."];
    if (typeof body.description !== "string") errors.description = ["The description field is required."];
    if (typeof body.name === "string" && this.groupByName(body.name))
      errors.name = ["The name has already been taken."];
    if (Object.keys(errors).length > 0) throw invalidDocsStyle(errors);
    const group = this.addGroup({
      name: String(body.name),
      description: String(body.description),
      members: this.#memberIds(body.members),
      guests: this.#guestEmails(body.guests),
    });
    return { status: 201, payload: { data: group } };
  }

  #updateGroup(group: FakeGroup, body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    if (typeof body.description !== "string") errors.description = ["The description field is required."];
    if (body.name !== undefined && (typeof body.name !== "string" || body.name === ""))
      errors.name = ["The name must be a string."];
    const other = typeof body.name === "string" ? this.groupByName(body.name) : undefined;
    if (other && other.id !== group.id) errors.name = ["The name has already been taken."];
    if (Object.keys(errors).length > 0) throw invalidDocsStyle(errors);
    if (typeof body.name === "string") group.name = body.name;
    group.description = String(body.description);
    // Each list given replaces the old one whole; an absent list is left alone.
    if (body.members !== undefined) group.members = this.#memberIds(body.members);
    if (body.guests !== undefined) group.guests = this.#guestEmails(body.guests);
    group.last_updated = now();
    return { status: 201, payload: { data: group } };
  }

  #memberIds(value: unknown): number[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidDocsStyle({ members: ["The members must be an array."] });
    return value.map((id) => {
      const member = this.members.get(Number(id));
      if (!member) throw invalidDocsStyle({ members: [`The selected member ${id} is invalid.`] });
      return member.id;
    });
  }

  #guestEmails(value: unknown): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidDocsStyle({ guests: ["The guests must be an array."] });
    return value.map(String);
  }

  #listGuests(query: URLSearchParams) {
    const q = query.get("q")?.toLowerCase();
    const all = [...this.guests.values()].filter((g) => !q || g.email.toLowerCase().includes(q));
    return paginate(all.map(guestJson), query, 999, 9999);
  }

  #createGuest(body: Record<string, unknown>) {
    const email = typeof body.email === "string" ? body.email : "";
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      throw invalid({ email: ["The email must be a valid email address."] });
    if (this.memberByEmail(email))
      throw invalid({ email: ["The email belongs to a member of this organization."] });
    if (this.guests.has(email.toLowerCase())) throw invalid({ email: ["The email has already been taken."] });
    const guest = this.addGuest({
      email,
      first_name: optional(body.first_name),
      last_name: optional(body.last_name),
      phone_1: optional(body.phone_1),
      timezone: optional(body.timezone),
      company_name: optional(body.company_name),
    });
    return { status: 201, payload: { data: guestJson(guest) } };
  }

  #updateGuest(guest: FakeGuest, body: Record<string, unknown>) {
    if (typeof body.email !== "string") throw invalid({ email: ["The email field is required."] });
    // Only associated_members is applied; name, phone and company are accepted and dropped.
    if (body.associated_members !== undefined)
      guest.associated_members = this.#memberIds(body.associated_members);
    return { status: 201, payload: { data: guestJson(guest) } };
  }
}

function guestJson(guest: FakeGuest) {
  return {
    id: guest.id,
    email: guest.email,
    first_name: guest.first_name,
    last_name: guest.last_name,
    created_at: "2026-01-01T00:00:00.000Z",
    details: {
      status: guest.disabled_at ? "disabled" : "active",
      phone_1: guest.phone_1,
      timezone: guest.timezone,
      company_name: guest.company_name,
      associated_members: guest.associated_members.length > 0 ? guest.associated_members : null,
      disabled_at: guest.disabled_at,
    },
  };
}

function paginate(
  items: unknown[],
  query: URLSearchParams,
  defaultPerPage: number,
  maxPerPage: number,
  render: (item: unknown) => unknown = (item) => item,
) {
  const perPage = Math.min(Number(query.get("per_page") ?? defaultPerPage) || defaultPerPage, maxPerPage);
  const page = Math.max(1, Number(query.get("page") ?? 1) || 1);
  const data = items.slice((page - 1) * perPage, page * perPage).map(render);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  return {
    status: 200,
    payload: {
      data,
      meta: {
        pagination: {
          total: items.length,
          count: data.length,
          per_page: perPage,
          current_page: page,
          total_pages: totalPages,
          // PHP encodes an empty links map as a JSON list.
          links: page < totalPages ? { next: `?page=${page + 1}` } : [],
        },
      },
    },
  };
}

function checkRole(role: unknown, errors: Record<string, string[]>): void {
  if (role !== undefined && role !== "admin" && role !== "standard" && role !== "light") {
    errors.role = ["The selected role is invalid."];
  }
}

function checkName(body: Record<string, unknown>, errors: Record<string, string[]>): void {
  for (const field of ["first_name", "last_name"]) {
    const value = body[field];
    if (typeof value === "string" && value.length > 32)
      errors[field] = [`The ${field} may not be greater than 32 characters.`];
    if (typeof value === "string" && /^https?:\/\//i.test(value))
      errors[field] = [`The ${field} must not be a URL.`];
  }
}

function faultBody(status: number): unknown {
  if (status === 429) return { message: "Too Many Attempts.", code: "RATE_LIMIT_EXCEEDED" };
  if (status >= 500) return { message: "Server Error" };
  return { message: `HTTP ${status}` };
}

function ok(data: unknown) {
  return { status: 200, payload: { data } };
}

function touch(member: FakeMember): FakeMember {
  member.updated_at = now();
  return member;
}

function optional(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function now(): string {
  return new Date().toISOString();
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
