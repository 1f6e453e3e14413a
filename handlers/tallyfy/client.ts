/**
 * The Tallyfy REST client: every member, group and guest operation this product makes, typed,
 * with responses parsed by zod. The contract it implements is docs/tallyfy-api.md.
 *
 * Reads are strict: an off-contract body is a {@link TallyfyResponseError}. Writes return the
 * echoed entity when Tallyfy sends a readable one and `undefined` otherwise, because by then the
 * write has happened and failing would only make SQS repeat it.
 */
import type * as z from "zod";
import { sleep } from "../shared/http.js";
import type { Pacer } from "../shared/pacer.js";
import { TallyfyApiError, TallyfyPaginationError, TallyfyResponseError } from "./errors.js";
import {
  type Group,
  GroupSchema,
  type Guest,
  GuestSchema,
  itemEnvelope,
  listEnvelope,
  type Member,
  MemberSchema,
  type Pagination,
  type Role,
} from "./schemas.js";
import {
  DEFAULT_RETRY_POLICY,
  type Method,
  type ResponseEvent,
  type RetryPolicy,
  type TokenSource,
  Transport,
} from "./transport.js";

export const DEFAULT_BASE_URL = "https://go.tallyfy.com/api";

export interface TallyfyClientOptions {
  /** The organization id that appears in every path. */
  readonly organizationId: string;
  /** Where bearer tokens come from; see `SecretsManagerTokenSource`. */
  readonly tokens: TokenSource;
  /** @default "https://go.tallyfy.com/api" */
  readonly baseUrl?: string;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Listings stop with an error past this many pages rather than return a partial list: a guard
   * against a pagination that never ends, not a size limit. 500 refused every organization of more
   * than 50,000 members; 2,000 pages of 100 hold 200,000.
   * @default 2000
   */
  readonly maxPages?: number;
  /** Called once per answered request (metrics, logs). */
  readonly onResponse?: (event: ResponseEvent) => void;
  /** Keeps the requests under the token's share of Tallyfy's rate limit. @default none: only 429s slow it down */
  readonly pacer?: Pacer;
  /** @default globalThis.fetch (keeps connections alive) */
  readonly fetch?: typeof globalThis.fetch;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Per-call options. */
export interface CallOptions {
  /** Epoch milliseconds after which no attempt may start; pass the Lambda's deadline. */
  readonly deadline?: number;
}

/** The fields of a member profile PUT. Tallyfy rejects the PUT unless all three required ones are sent. */
export interface MemberProfile {
  readonly firstName: string;
  readonly lastName: string;
  readonly timezone: string;
  readonly phone?: string;
  readonly jobTitle?: string;
  readonly jobDescription?: string;
  readonly team?: string;
}

export interface MemberInvite {
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly role: Role;
  readonly message: string;
}

/** A group write. `name` and `description` are always sent; each list given replaces the old one. */
export interface GroupWrite {
  readonly name: string;
  readonly description: string;
  readonly members?: readonly number[];
  readonly guests?: readonly string[];
}

export interface GuestCreate {
  readonly email: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly phone?: string;
  readonly timezone?: string;
  readonly companyName?: string;
}

const PAGE_SIZE = 100;

export class TallyfyClient {
  public readonly members: MembersApi;
  public readonly groups: GroupsApi;
  public readonly guests: GuestsApi;

  public constructor(options: TallyfyClientOptions) {
    const transport = new Transport({
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs ?? 10_000,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      fetch: options.fetch ?? globalThis.fetch,
      sleep: options.sleep ?? sleep,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      onResponse: options.onResponse,
      pacer: options.pacer,
    });
    const api = new Api(
      transport,
      `/organizations/${encodeURIComponent(options.organizationId)}`,
      options.maxPages ?? 2_000,
    );
    this.members = new MembersApi(api);
    this.groups = new GroupsApi(api);
    this.guests = new GuestsApi(api);
  }
}

/** Shared request, parse and pagination steps for the three resource APIs. */
class Api {
  public constructor(
    private readonly transport: Transport,
    public readonly orgPath: string,
    private readonly maxPages: number,
  ) {}

  /** A read whose body must match `schema`. */
  public async read<T extends z.ZodType>(
    operation: string,
    path: string,
    schema: T,
    opts?: CallOptions,
    query?: Record<string, string | number | undefined>,
  ): Promise<z.output<T>> {
    const body = await this.transport.request({
      operation,
      method: "GET",
      path: this.orgPath + path,
      query,
      deadline: opts?.deadline,
    });
    return parseStrict(operation, schema, body);
  }

  /** A write; returns the echoed item when Tallyfy sent a readable one. */
  public async write<T extends z.ZodType>(
    operation: string,
    method: Method,
    path: string,
    body: unknown,
    schema: T | undefined,
    opts?: CallOptions,
  ): Promise<z.output<T> | undefined> {
    const answer = await this.transport.request({
      operation,
      method,
      path: this.orgPath + path,
      body,
      deadline: opts?.deadline,
    });
    if (!schema) return undefined;
    const parsed = itemEnvelope(schema).safeParse(answer);
    return parsed.success ? (parsed.data as { data: z.output<T> }).data : undefined;
  }

  /** Every item of a paginated listing, by the stopping rules of the contract (section 4). */
  public async readAll<T extends z.ZodType>(
    operation: string,
    path: string,
    schema: T,
    key: (item: z.output<T>) => string | number,
    opts?: CallOptions,
    query?: Record<string, string | number | undefined>,
  ): Promise<z.output<T>[]> {
    const envelope = listEnvelope(schema);
    const seen = new Set<string | number>();
    const items: z.output<T>[] = [];
    for (let page = 1; ; page++) {
      if (page > this.maxPages) {
        throw new TallyfyPaginationError(
          operation,
          `more than ${this.maxPages} pages; refusing a partial list`,
        );
      }
      const { data, meta } = await this.read(operation, path, envelope, opts, {
        ...query,
        page,
        per_page: PAGE_SIZE,
      });
      let fresh = 0;
      for (const item of data as z.output<T>[]) {
        const id = key(item);
        if (seen.has(id)) continue;
        seen.add(id);
        items.push(item);
        fresh++;
      }
      if (fresh === 0 || isLastPage(meta?.pagination ?? undefined)) return items;
    }
  }
}

function isLastPage(pagination: Pagination | undefined): boolean {
  if (!pagination) return true;
  const { current_page: current, total_pages: total, links } = pagination;
  if (typeof current === "number" && typeof total === "number") return current >= total;
  return !(links && !Array.isArray(links) && links.next);
}

function parseStrict<T extends z.ZodType>(operation: string, schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
    .join("; ");
  throw new TallyfyResponseError(operation, `unexpected response body (${where})`);
}

const MemberItem = itemEnvelope(MemberSchema);
const GroupItem = itemEnvelope(GroupSchema);
const GuestItem = itemEnvelope(GuestSchema);

const sameEmail = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export class MembersApi {
  public constructor(private readonly api: Api) {}

  /** Every member of every status (active, invited, disabled). */
  public list(opts?: CallOptions): Promise<Member[]> {
    return this.api.readAll("members.list", "/users", MemberSchema, (m) => m.id, opts);
  }

  /**
   * The member with this email, compared ignoring case, or `undefined`. Asks Tallyfy's `q`
   * search first; because whether `q` ignores case is unknown, a miss falls back to the full list.
   */
  public async findByEmail(email: string, opts?: CallOptions): Promise<Member | undefined> {
    const hits = await this.api.readAll("members.findByEmail", "/users", MemberSchema, (m) => m.id, opts, {
      q: email.trim(),
    });
    const hit = hits.find((m) => sameEmail(m.email, email));
    if (hit) return hit;
    return (await this.list(opts)).find((m) => sameEmail(m.email, email));
  }

  /** One member; with `withGroups`, also the groups the member belongs to, in the same call. */
  public async get(id: number, opts?: CallOptions & { readonly withGroups?: boolean }): Promise<Member> {
    const query = opts?.withGroups ? { with: "groups" } : undefined;
    return (await this.api.read("members.get", `/users/${id}`, MemberItem, opts, query)).data;
  }

  /** PUT of the profile. Email cannot be changed here; Tallyfy has no endpoint for an admin to do it. */
  public updateProfile(id: number, profile: MemberProfile, opts?: CallOptions): Promise<Member | undefined> {
    const body = {
      first_name: profile.firstName,
      last_name: profile.lastName,
      timezone: profile.timezone,
      phone: profile.phone,
      job_title: profile.jobTitle,
      job_description: profile.jobDescription,
      team: profile.team,
    };
    return this.api.write("members.updateProfile", "PUT", `/users/${id}`, body, MemberSchema, opts);
  }

  public updateRole(id: number, role: Role, opts?: CallOptions): Promise<Member | undefined> {
    return this.api.write("members.updateRole", "PUT", `/users/${id}/role`, { role }, MemberSchema, opts);
  }

  /** Invites a new member. Tallyfy answers 422 when the email already belongs to a member. */
  public invite(invite: MemberInvite, opts?: CallOptions): Promise<Member | undefined> {
    const body = {
      email: invite.email,
      first_name: invite.firstName,
      last_name: invite.lastName,
      role: invite.role,
      message: invite.message,
    };
    return this.api.write("members.invite", "POST", "/users/invite", body, MemberSchema, opts);
  }

  /** Deactivates (reversible; frees the seat). */
  public async disable(id: number, opts?: CallOptions): Promise<void> {
    await this.api.write("members.disable", "DELETE", `/users/${id}/disable`, undefined, undefined, opts);
  }

  public async enable(id: number, opts?: CallOptions): Promise<void> {
    await this.api.write("members.enable", "PUT", `/users/${id}/enable`, undefined, undefined, opts);
  }

  /** Removes the member from the organization, optionally handing open tasks to `reassignTo`. */
  public async remove(id: number, reassignTo?: number, opts?: CallOptions): Promise<void> {
    const query = reassignTo === undefined ? "" : `?with_reassignment=true&to=${reassignTo}`;
    await this.api.write("members.remove", "DELETE", `/users/${id}${query}`, undefined, undefined, opts);
  }
}

export class GroupsApi {
  public constructor(private readonly api: Api) {}

  public list(opts?: CallOptions): Promise<Group[]> {
    return this.api.readAll("groups.list", "/groups", GroupSchema, (g) => g.id, opts);
  }

  public async get(id: string, opts?: CallOptions): Promise<Group> {
    return (await this.api.read("groups.get", `/groups/${encodeURIComponent(id)}`, GroupItem, opts)).data;
  }

  /** The group with this name (trimmed, ignoring case), or `undefined`. Names are unique per org. */
  public async findByName(name: string, opts?: CallOptions): Promise<Group | undefined> {
    const wanted = name.trim().toLowerCase();
    const hits = await this.api.readAll("groups.findByName", "/groups", GroupSchema, (g) => g.id, opts, {
      q: name.trim(),
    });
    const match = (g: Group) => g.name.trim().toLowerCase() === wanted;
    return hits.find(match) ?? (await this.list(opts)).find(match);
  }

  public create(group: GroupWrite, opts?: CallOptions): Promise<Group | undefined> {
    return this.api.write("groups.create", "POST", "/groups", groupBody(group), GroupSchema, opts);
  }

  /** PUT of the group. Lists given replace the old lists whole: read, edit, then write. */
  public update(id: string, group: GroupWrite, opts?: CallOptions): Promise<Group | undefined> {
    return this.api.write(
      "groups.update",
      "PUT",
      `/groups/${encodeURIComponent(id)}`,
      groupBody(group),
      GroupSchema,
      opts,
    );
  }

  public async delete(id: string, opts?: CallOptions): Promise<void> {
    await this.api.write(
      "groups.delete",
      "DELETE",
      `/groups/${encodeURIComponent(id)}`,
      undefined,
      undefined,
      opts,
    );
  }
}

function groupBody(group: GroupWrite) {
  return { name: group.name, description: group.description, members: group.members, guests: group.guests };
}

export class GuestsApi {
  public constructor(private readonly api: Api) {}

  public list(opts?: CallOptions): Promise<Guest[]> {
    return this.api.readAll("guests.list", "/guests", GuestSchema, (g) => g.email.toLowerCase(), opts);
  }

  public async get(email: string, opts?: CallOptions): Promise<Guest> {
    return (await this.api.read("guests.get", guestPath(email), GuestItem, opts)).data;
  }

  /** The guest with this email (ignoring case), or `undefined`. `q` on guests filters by email. */
  public async findByEmail(email: string, opts?: CallOptions): Promise<Guest | undefined> {
    const hits = await this.api.readAll(
      "guests.findByEmail",
      "/guests",
      GuestSchema,
      (g) => g.email.toLowerCase(),
      opts,
      { q: email.trim() },
    );
    return hits.find((g) => sameEmail(g.email, email));
  }

  public create(guest: GuestCreate, opts?: CallOptions): Promise<Guest | undefined> {
    return this.api.write("guests.create", "POST", "/guests", guestBody(guest), GuestSchema, opts);
  }

  /** Sets the guest's associated members (the list replaces the old one). */
  public update(
    email: string,
    associatedMembers: readonly number[],
    opts?: CallOptions,
  ): Promise<Guest | undefined> {
    const body = { email, associated_members: associatedMembers };
    return this.api.write("guests.update", "PUT", guestPath(email), body, GuestSchema, opts);
  }

  /**
   * Sends the guest's profile as the "Update guest" page lists it. Tallyfy's contract notes say it
   * may answer 2xx and discard the fields: compare the guest it returns with what was sent.
   */
  public updateProfile(guest: GuestCreate, opts?: CallOptions): Promise<Guest | undefined> {
    return this.api.write(
      "guests.updateProfile",
      "PUT",
      guestPath(guest.email),
      guestBody(guest),
      GuestSchema,
      opts,
    );
  }

  public async disable(email: string, opts?: CallOptions): Promise<void> {
    await this.api.write(
      "guests.disable",
      "DELETE",
      `${guestPath(email)}/disable`,
      undefined,
      undefined,
      opts,
    );
  }

  public async enable(email: string, opts?: CallOptions): Promise<void> {
    await this.api.write("guests.enable", "PUT", `${guestPath(email)}/enable`, undefined, undefined, opts);
  }

  /**
   * Deletes the guest from the organization. Returns false when it was already gone: Tallyfy
   * answers 422 (not 404) for an unknown email, so both count as gone.
   */
  public async delete(email: string, opts?: CallOptions): Promise<boolean> {
    try {
      await this.api.write("guests.delete", "DELETE", guestPath(email), undefined, undefined, opts);
      return true;
    } catch (error) {
      if (isUnknownGuest(error)) return false;
      throw error;
    }
  }
}

function isUnknownGuest(error: unknown): boolean {
  if (!(error instanceof TallyfyApiError)) return false;
  if (error.status === 404) return true;
  const said = [error.detail.message ?? "", ...error.detail.fieldErrors];
  return error.status === 422 && said.some((text) => /email/i.test(text));
}

function guestBody(guest: GuestCreate) {
  return {
    email: guest.email,
    first_name: guest.firstName,
    last_name: guest.lastName,
    // Tallyfy silently drops a singular `phone` key on guests.
    phone_1: guest.phone,
    timezone: guest.timezone,
    company_name: guest.companyName,
  };
}

function guestPath(email: string): string {
  return `/guests/${encodeURIComponent(email.trim())}`;
}
