/**
 * The SCIM 2.0 service provider (RFC 7644): `/Users`, `/Groups` and the discovery endpoints, over
 * a {@link ScimStore}. It answers from what it keeps and never calls Tallyfy: each change is
 * stored, then its identity events are handed to `queue` (the ingest queue, in production), and
 * the pipeline reconciles Tallyfy from there. A request is answered only once its events are
 * queued; one that fails on the way is refused as transient (503), and the IdP retries it.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { EventUser, IdentityEvent } from "../../core/identity-event.js";
import { findUntrustedJsonProblem } from "../../core/untrusted-json.js";
import { invalidSyntax, invalidValue, notFound, ScimRequestError } from "./errors.js";
import { parseFilter } from "./filter.js";
import { applyPatch } from "./patch.js";
import { emailOf, personOf } from "./person.js";
import {
  etagOf,
  listResponse,
  MAX_GROUP_MEMBERS,
  MAX_PAYLOAD_BYTES,
  MAX_RESULTS,
  project,
  renderGroup,
  renderUser,
  resourceTypes,
  schemas,
  serviceProviderConfig,
} from "./render.js";
import { ERROR_SCHEMA, type ResourceType, readGroup, readUser, type UserResource } from "./resources.js";
import type { GroupChange, GroupRecord, ScimMessage, ScimStore, UserRecord, Written } from "./store.js";

export interface ScimRequest {
  readonly method: string;
  /** The request path; everything up to `/v2` (or the stage) is ignored. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | null;
}

export interface ScimResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface ScimServiceDeps {
  readonly store: ScimStore;
  /** Queues the messages' events for ingest; throws when they may not all be queued. */
  readonly queue: (messages: readonly ScimMessage[]) => Promise<void>;
  /** The bearer tokens accepted now (the current one, and the previous during a rotation). */
  readonly tokens: () => Promise<readonly string[]>;
  /**
   * Tokens read past any cache, after a token did not match (a rotation may have just happened);
   * undefined when a fresh read is not due.
   */
  readonly refreshTokens?: () => Promise<readonly string[] | undefined>;
  /** Told of every failure answered with 503, to log it. */
  readonly onError?: (error: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
}

const MEDIA_TYPE = "application/scim+json";
/** Events per ingest message: a fraction of SQS's 256 KB, and a few seconds of ingest work. */
const EVENTS_PER_MESSAGE = 50;
const MAX_ATTEMPTS = 8;

/** A change kept failing to be stored because others kept changing the resource. Transient. */
export class ScimConflictError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "ScimConflictError";
  }
}

export class ScimService {
  readonly #now: () => number;
  readonly #newId: () => string;

  public constructor(private readonly deps: ScimServiceDeps) {
    this.#now = deps.now ?? Date.now;
    this.#newId = deps.newId ?? randomUUID;
  }

  /** Answers one request; never throws. `baseUrl` is the endpoint's `…/scim/v2` as clients see it. */
  public async handle(request: ScimRequest, baseUrl: string): Promise<ScimResponse> {
    try {
      await this.#authorize(request.headers);
      if (request.body && Buffer.byteLength(request.body) > MAX_PAYLOAD_BYTES) {
        throw new ScimRequestError(413, `the body is larger than ${MAX_PAYLOAD_BYTES} bytes`);
      }
      return await this.#route(request, baseUrl.replace(/\/+$/, ""));
    } catch (error) {
      if (error instanceof ScimRequestError) {
        return errorResponse(error.status, error.message, error.scimType, error.headers);
      }
      this.deps.onError?.(error);
      return errorResponse(
        503,
        "the request could not be completed; nothing is lost by retrying it",
        undefined,
        {
          "Retry-After": "5",
        },
      );
    }
  }

  async #authorize(headers: ScimRequest["headers"]): Promise<void> {
    const header = headerOf(headers, "authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const challenge = { "WWW-Authenticate": 'Bearer realm="scim"' };
    if (!match?.[1]) throw new ScimRequestError(401, "a bearer token is required", undefined, challenge);
    const presented = digest(match[1]);
    const accepts = (tokens: readonly string[]) => {
      let accepted = false;
      // Every token is compared, each in constant time, so timing tells nothing about any of them.
      for (const token of tokens) {
        if (token && timingSafeEqual(presented, digest(token))) accepted = true;
      }
      return accepted;
    };
    if (accepts(await this.deps.tokens())) return;
    const fresh = await this.deps.refreshTokens?.();
    if (fresh && accepts(fresh)) return;
    throw new ScimRequestError(401, "the bearer token is not valid", undefined, challenge);
  }

  async #route(request: ScimRequest, base: string): Promise<ScimResponse> {
    const match = /\/(Users|Groups|ServiceProviderConfigs?|ResourceTypes|Schemas)(?:\/([^/]+))?\/?$/i.exec(
      request.path,
    );
    if (!match) throw notFound(`no SCIM endpoint at ${request.path}`);
    const endpoint = (match[1] ?? "").toLowerCase();
    const id = match[2] && decoded(match[2]);
    const method = request.method.toUpperCase();
    const { query } = request;
    if (endpoint === "users" || endpoint === "groups") {
      const type: ResourceType = endpoint === "users" ? "User" : "Group";
      if (id === undefined) {
        if (method === "GET") return this.#list(type, query, base);
        if (method === "POST")
          return type === "User" ? this.#createUser(request, base) : this.#createGroup(request, base);
      } else {
        if (method === "GET") return this.#get(type, id, query, base);
        if (method === "PUT" || method === "PATCH") {
          return type === "User" ? this.#changeUser(request, id, base) : this.#changeGroup(request, id, base);
        }
        if (method === "DELETE")
          return type === "User" ? this.#deleteUser(request, id) : this.#deleteGroup(request, id);
      }
      throw new ScimRequestError(405, `${method} is not supported on /${match[1]}${id ? "/{id}" : ""}`);
    }
    if (method !== "GET") throw new ScimRequestError(405, `${method} is not supported on /${match[1]}`);
    if (endpoint.startsWith("serviceproviderconfig")) return ok(serviceProviderConfig(base));
    const documents = endpoint === "resourcetypes" ? resourceTypes(base) : schemas(base);
    if (id === undefined) return ok(listResponse(documents, documents.length, 1));
    const document = documents.find((d) => d.id === id);
    if (!document) throw notFound(`no ${match[1]} ${id}`);
    return ok(document);
  }

  // Users

  async #createUser(request: ScimRequest, base: string): Promise<ScimResponse> {
    const user = readUser(jsonOf(request));
    const email = emailOf(user);
    // A retried create whose events were not queued is queued now; the answer is still 409.
    await this.#holder(
      await this.deps.store.userIdByName(user.userName),
      (id) => this.#liveUser(id),
      user.userName,
    );
    const now = this.#now();
    const draft: UserRecord = {
      id: this.#newId(),
      resource: { ...user, active: user.active ?? true },
      version: 1,
      created: now,
      lastModified: now,
      email,
    };
    const record = { ...draft, outbox: [userMessage(draft, undefined)] };
    const written = tooLarge(await this.deps.store.putUser(record));
    if (written === "emailTaken") {
      throw new ScimRequestError(
        409,
        `${email} is the email another user was provisioned under, and Tallyfy keeps a member's email: delete that user here first, or give this one another email`,
        "uniqueness",
      );
    }
    // A new id cannot conflict: either way, someone else holds the userName.
    if (written !== "written") throw takenError(user.userName);
    await this.#flushUser(record);
    const body = renderUser(record, base);
    return ok(body, 201, { Location: `${base}/Users/${record.id}`, ETag: etagOf(record.version) });
  }

  /** Refuses a name another live resource holds; a holder's pending events are queued on the way. */
  async #holder(id: string | undefined, live: (id: string) => Promise<unknown>, name: string): Promise<void> {
    if (id === undefined) return;
    try {
      await live(id);
    } catch (error) {
      // Gone, or deleted: the name is free (a claim left by a stopped request is released by the store).
      if (error instanceof ScimRequestError && error.status === 404) return;
      throw error;
    }
    throw takenError(name);
  }

  async #changeUser(request: ScimRequest, id: string, base: string): Promise<ScimResponse> {
    const body = jsonOf(request);
    const record = await this.#updateUser(id, request, (current) => {
      const next =
        request.method.toUpperCase() === "PUT"
          ? readUser(body)
          : readUser(applyPatch(attributesOf(current.resource), body, "User", id));
      // A PUT or PATCH that leaves `active` out leaves it as it was.
      return { ...next, active: next.active ?? current.resource.active };
    });
    return ok(
      project(renderUser(record, base), "User", request.query.attributes, request.query.excludedAttributes),
      200,
      {
        ETag: etagOf(record.version),
      },
    );
  }

  async #updateUser(
    id: string,
    request: ScimRequest,
    change: (current: UserRecord) => UserResource,
  ): Promise<UserRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#liveUser(id, request);
      const resource = change(current);
      emailOf(resource);
      const draft: UserRecord = {
        ...current,
        resource,
        version: current.version + 1,
        lastModified: Math.max(this.#now(), current.lastModified + 1),
        outbox: undefined,
      };
      const record = { ...draft, outbox: [userMessage(draft, current)] };
      const written = tooLarge(await this.deps.store.putUser(record, current));
      if (written === "taken") throw takenError(resource.userName);
      if (written === "written") {
        await this.#flushUser(record);
        return record;
      }
    }
    throw new ScimConflictError(`user ${id} kept changing while this request was applied`);
  }

  async #deleteUser(request: ScimRequest, id: string): Promise<ScimResponse> {
    const user = await this.#liveUser(id, request);
    // Out of every group first, so no group goes on naming a user that is gone.
    for (const groupId of await this.deps.store.groupsOf(id)) {
      await this.#updateGroup(groupId, undefined, (g) => ({
        resource: g.resource,
        members: g.members.filter((m) => m !== id),
      })).catch((error: unknown) => {
        if (!(error instanceof ScimRequestError && error.status === 404)) throw error;
      });
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = attempt === 0 ? user : await this.#liveUser(id, request);
      const lastModified = Math.max(this.#now(), current.lastModified + 1);
      const version = current.version + 1;
      const departure: IdentityEvent = {
        id: `scim-user-${id}-${version}`,
        time: new Date(lastModified).toISOString(),
        type: "user.deactivated",
        source: "scim",
        user: { email: current.email },
      };
      const record: UserRecord = {
        ...current,
        version,
        lastModified,
        deleted: true,
        outbox: [{ subject: id, events: [departure] }],
      };
      if ((await this.deps.store.putUser(record, current)) === "written") {
        await this.#flushUser(record);
        return { status: 204, headers: {} };
      }
    }
    throw new ScimConflictError(`user ${id} kept changing while it was deleted`);
  }

  /** The stored user, its pending events queued first; 404 when there is none (or it is deleted). */
  #liveUser(id: string, request?: ScimRequest): Promise<UserRecord> {
    return live(
      () => this.deps.store.user(id),
      (r) => this.#flushUser(r),
      `no User ${id}`,
      request,
    );
  }

  async #flushUser(record: UserRecord): Promise<void> {
    await this.deps.queue(record.outbox ?? []);
    if (record.deleted) await this.deps.store.deleteUser(record);
    else await this.deps.store.userQueued(record.id, record.version);
  }

  // Groups

  async #createGroup(request: ScimRequest, base: string): Promise<ScimResponse> {
    const group = readGroup(jsonOf(request));
    const members = unique((group.members ?? []).map((m) => m.value));
    await this.#checkMembers(members, members.length);
    // Names are unique when a group is created (a create retried after a 503 is refused, not
    // doubled); a rename may take a name another group holds, as Entra swaps names that way.
    const namesake = (await this.deps.store.allGroups()).find(
      (g) => !g.deleted && sameName(g.resource.displayName, group.displayName),
    );
    await this.#holder(namesake?.id, (id) => this.#liveGroup(id), group.displayName);
    const now = this.#now();
    const { members: _members, ...resource } = group;
    const record: GroupRecord = {
      id: this.#newId(),
      resource,
      members,
      version: 1,
      created: now,
      lastModified: now,
      outbox: { added: members, removed: [] },
    };
    if (tooLarge(await this.deps.store.putGroup(record)) !== "written") throw takenError(group.displayName);
    await this.#flushGroup(record);
    const body = renderGroup(record, base);
    return ok(body, 201, { Location: `${base}/Groups/${record.id}`, ETag: etagOf(record.version) });
  }

  async #changeGroup(request: ScimRequest, id: string, base: string): Promise<ScimResponse> {
    const body = jsonOf(request);
    const isPut = request.method.toUpperCase() === "PUT";
    const record = await this.#updateGroup(id, request, (current) => {
      const group = isPut
        ? readGroup(body)
        : readGroup(applyPatch(groupAttributes(current), body, "Group", id));
      const { members, ...resource } = group;
      return { resource, members: unique((members ?? []).map((m) => m.value)) };
    });
    // Entra expects 204 for a group PATCH; a PUT returns the group.
    if (!isPut) return { status: 204, headers: { ETag: etagOf(record.version) } };
    return ok(renderGroup(record, base), 200, { ETag: etagOf(record.version) });
  }

  async #deleteGroup(request: ScimRequest, id: string): Promise<ScimResponse> {
    await this.#updateGroup(id, request, (g) => ({ resource: g.resource, members: [] }), true);
    return { status: 204, headers: {} };
  }

  async #updateGroup(
    id: string,
    request: ScimRequest | undefined,
    change: (current: GroupRecord) => Pick<GroupRecord, "resource" | "members">,
    deleted = false,
  ): Promise<GroupRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#liveGroup(id, request);
      const next = change(current);
      const before = new Set(current.members);
      const after = new Set(next.members);
      const added = next.members.filter((m) => !before.has(m));
      const removed = current.members.filter((m) => !after.has(m));
      await this.#checkMembers(added, next.members.length);
      const renamed = !sameNames(namesOf(current), namesOf({ id, resource: next.resource }));
      const outbox: GroupChange = {
        added,
        removed,
        ...(renamed ? { renamedFrom: namesOf(current) } : {}),
      };
      const record: GroupRecord = {
        ...current,
        ...next,
        version: current.version + 1,
        lastModified: Math.max(this.#now(), current.lastModified + 1),
        outbox,
        ...(deleted ? { deleted } : {}),
      };
      const written = tooLarge(await this.deps.store.putGroup(record, current));
      if (written === "taken") throw takenError(record.resource.displayName);
      if (written === "written") {
        await this.#flushGroup(record);
        return record;
      }
    }
    throw new ScimConflictError(`group ${id} kept changing while this request was applied`);
  }

  #liveGroup(id: string, request?: ScimRequest): Promise<GroupRecord> {
    return live(
      () => this.deps.store.group(id),
      (r) => this.#flushGroup(r),
      `no Group ${id}`,
      request,
    );
  }

  /** Every member must be a user this endpoint provisioned, and a group must fit in one item. */
  async #checkMembers(added: readonly string[], total: number): Promise<void> {
    if (total > MAX_GROUP_MEMBERS) {
      throw new ScimRequestError(413, `a group holds at most ${MAX_GROUP_MEMBERS} members, not ${total}`);
    }
    if (added.length === 0) return;
    const known = new Set((await this.deps.store.users(added)).filter((u) => !u.deleted).map((u) => u.id));
    const unknown = added.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw invalidValue(
        `members must be users provisioned here; unknown: ${unknown.slice(0, 5).join(", ")}`,
      );
    }
  }

  /**
   * Queues a group change's membership events and notes each membership on the user's side.
   * Safe to repeat: the events' ids and versions are the change's own.
   */
  async #flushGroup(record: GroupRecord): Promise<void> {
    const change = record.outbox ?? { added: [], removed: [] };
    const names = namesOf(record);
    const before = change.renamedFrom ?? names;
    const kept = change.renamedFrom ? record.members.filter((m) => !change.added.includes(m)) : [];
    const users = new Map(
      (await this.deps.store.users(unique([...change.added, ...change.removed, ...kept]))).map((u) => [
        u.id,
        u.email,
      ]),
    );
    const time = new Date(record.lastModified).toISOString();
    const events: IdentityEvent[] = [];
    const add = (
      type: "group.member_added" | "group.member_removed",
      userId: string,
      groups: readonly string[],
    ) => {
      const email = users.get(userId);
      if (!email) return;
      for (const name of groups) {
        events.push({
          id: `scim-group-${record.id}-${record.version}-${events.length}`,
          time,
          type,
          source: "scim",
          user: { email },
          group: { name },
        });
      }
    };
    for (const userId of change.removed) add("group.member_removed", userId, before);
    for (const userId of change.added) add("group.member_added", userId, names);
    for (const userId of kept) {
      add(
        "group.member_removed",
        userId,
        before.filter((n) => !names.some((m) => sameName(m, n))),
      );
      add(
        "group.member_added",
        userId,
        names.filter((n) => !before.some((m) => sameName(m, n))),
      );
    }
    for (const userId of change.added)
      await this.deps.store.noteMembership(userId, record.id, true, record.version);
    for (const userId of change.removed)
      await this.deps.store.noteMembership(userId, record.id, false, record.version);
    const messages: ScimMessage[] = [];
    for (let start = 0; start < events.length; start += EVENTS_PER_MESSAGE) {
      messages.push({ events: events.slice(start, start + EVENTS_PER_MESSAGE) });
    }
    await this.deps.queue(messages);
    if (record.deleted) await this.deps.store.deleteGroup(record);
    else await this.deps.store.groupQueued(record.id, record.version);
  }

  // Reads

  async #get(
    type: ResourceType,
    id: string,
    query: ScimRequest["query"],
    base: string,
  ): Promise<ScimResponse> {
    const body =
      type === "User"
        ? renderUser(await this.#liveUser(id), base)
        : renderGroup(await this.#liveGroup(id), base);
    const version = (body.meta as { version: string }).version;
    return ok(project(body, type, query.attributes, query.excludedAttributes), 200, { ETag: version });
  }

  async #list(type: ResourceType, query: ScimRequest["query"], base: string): Promise<ScimResponse> {
    const startIndex = Math.max(1, integer(query.startIndex, "startIndex") ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, integer(query.count, "count") ?? MAX_RESULTS));
    const filter = query.filter?.trim() ? parseFilter(query.filter, type) : undefined;
    const render = (r: UserRecord | GroupRecord) =>
      type === "User" ? renderUser(r as UserRecord, base) : renderGroup(r as GroupRecord, base);
    let candidates: (UserRecord | GroupRecord)[];
    const lookup = filter?.lookup;
    if (lookup?.attribute === "id") {
      candidates = [
        await (type === "User" ? this.deps.store.user(lookup.value) : this.deps.store.group(lookup.value)),
      ].filter((r): r is UserRecord | GroupRecord => r !== undefined);
    } else if (type === "User" && lookup?.attribute === "userName") {
      const id = await this.deps.store.userIdByName(lookup.value);
      const user = id === undefined ? undefined : await this.deps.store.user(id);
      candidates = user ? [user] : [];
    } else {
      candidates = type === "User" ? await this.deps.store.allUsers() : await this.deps.store.allGroups();
    }
    const live: (UserRecord | GroupRecord)[] = [];
    for (const record of candidates) {
      // The identity provider matches before it creates: a change stored but not yet queued
      // (answered 503) is queued now, or it would never be sent again.
      if (record.outbox) {
        if (type === "User") await this.#flushUser(record as UserRecord);
        else await this.#flushGroup(record as GroupRecord);
      }
      if (!record.deleted) live.push(record);
    }
    const matching = live.map(render).filter((r) => !filter || filter.matches(r));
    const page = matching.slice(startIndex - 1, startIndex - 1 + count);
    return ok(
      listResponse(
        page.map((r) => project(r, type, query.attributes, query.excludedAttributes)),
        matching.length,
        startIndex,
      ),
    );
  }
}

/**
 * A stored resource, its pending events queued first; 404 when there is none (or it is deleted),
 * 412 when the request's If-Match names another version.
 */
async function live<R extends UserRecord | GroupRecord>(
  read: () => Promise<R | undefined>,
  flush: (record: R) => Promise<void>,
  missing: string,
  request: ScimRequest | undefined,
): Promise<R> {
  let record = await read();
  if (record?.outbox) {
    await flush(record);
    record = record.deleted ? undefined : { ...record, outbox: undefined };
  }
  if (!record || record.deleted) throw notFound(missing);
  if (request) checkPrecondition(request, record.version);
  return record;
}

/** The events a stored user means: created, deactivated or reactivated when `active` says so, else updated. */
function userMessage(record: UserRecord, previous: UserRecord | undefined): ScimMessage {
  const { user, warnings } = personOf(record.resource);
  const active = record.resource.active !== false;
  const was = previous && previous.resource.active !== false;
  const type = !active
    ? was === false
      ? "user.updated"
      : "user.deactivated"
    : previous === undefined
      ? "user.created"
      : was === false
        ? "user.reactivated"
        : "user.updated";
  return {
    subject: record.id,
    linkEmail: record.email,
    events: [
      {
        id: `scim-user-${record.id}-${record.version}`,
        time: new Date(record.lastModified).toISOString(),
        type,
        source: "scim",
        user: previous ? changedFields(user, personOf(previous.resource).user, type) : user,
      } as IdentityEvent,
    ],
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Only what the request changed, with the email: an unchanged value sent again at a newer version
 * would win over a newer decision made elsewhere (a role-group membership over the app role).
 */
function changedFields(user: EventUser, before: EventUser, type: IdentityEvent["type"]): EventUser {
  // A return carries the whole profile, so it can invite on its own even if read before the
  // create (a standard queue keeps no order); the role, still, only when it changed.
  const whole = type === "user.reactivated" || type === "user.created";
  const changed = Object.entries(user).filter(
    ([field, value]) =>
      field === "email" || (whole && field !== "role") || before[field as keyof EventUser] !== value,
  );
  return Object.fromEntries(changed) as EventUser;
}

/**
 * The names a group is mapped by in the configuration: its displayName, the IdP's id for it
 * (`externalId`: Entra's object id), and its id here (Okta's pushed groups have no externalId).
 */
function namesOf({ id, resource }: Pick<GroupRecord, "id" | "resource">): string[] {
  return unique(
    [resource.displayName, resource.externalId, id].filter((n): n is string => Boolean(n?.trim())),
  );
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n) => b.some((m) => sameName(m, n)));
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function attributesOf(resource: UserResource): Record<string, unknown> {
  return structuredClone(resource) as Record<string, unknown>;
}

function groupAttributes(group: GroupRecord): Record<string, unknown> {
  return { ...structuredClone(group.resource), members: group.members.map((value) => ({ value })) };
}

/** SCIM resources and PatchOps nest a few levels; anything deeper is not one. */
const MAX_BODY_DEPTH = 16;

/**
 * The body, parsed and checked before anything walks it: no key at any depth may name a
 * prototype (a PATCH library walking `__proto__.roles` would change every object of the process),
 * and nesting is bounded (a recursive walk of 100,000 nested arrays overflows the stack).
 */
function jsonOf(request: ScimRequest): unknown {
  if (!request.body?.trim()) throw invalidSyntax("the request has no body");
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    throw invalidSyntax("the body is not valid JSON");
  }
  const problem = findUntrustedJsonProblem(body, MAX_BODY_DEPTH);
  if (problem) throw invalidValue(`the body is refused: ${problem.message}`);
  // JSON keeps U+FFFE and U+FFFF as they are, and SQS refuses a message holding them: stored, such
  // a change could never be queued, and every later request about it would answer 503.
  if (/[\uFFFE\uFFFF]/.test(JSON.stringify(body))) {
    throw invalidValue("the body holds U+FFFE or U+FFFF, which are not characters and cannot be queued");
  }
  return body;
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidValue(`${name} must be an integer`);
  return Number(value);
}

function checkPrecondition(request: ScimRequest, version: number): void {
  const wanted = headerOf(request.headers, "if-match");
  if (wanted === undefined || wanted.trim() === "*") return;
  const tags = wanted.split(",").map((t) => t.trim());
  if (!tags.includes(etagOf(version)) && !tags.includes(`"${version}"`)) {
    throw new ScimRequestError(412, `the resource is at version ${etagOf(version)}, not ${wanted}`);
  }
}

function takenError(name: string): ScimRequestError {
  return new ScimRequestError(409, `${name} is already taken`, "uniqueness");
}

/** A path segment, decoded; one that is not valid percent-encoding names nothing. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound(`no resource ${segment}`);
  }
}

/** Passes on how a write ended, refusing one the store cannot hold: a retry would never fit either. */
function tooLarge<W extends Written>(written: W): Exclude<W, "tooLarge"> {
  if (written === "tooLarge") {
    throw new ScimRequestError(
      413,
      "the resource with this change is too large to store: send a smaller change",
    );
  }
  return written as Exclude<W, "tooLarge">;
}

function headerOf(headers: ScimRequest["headers"], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

function ok(body: unknown, status = 200, headers: Record<string, string> = {}): ScimResponse {
  return { status, headers: { "Content-Type": MEDIA_TYPE, ...headers }, body: JSON.stringify(body) };
}

function errorResponse(
  status: number,
  detail: string,
  scimType: string | undefined,
  headers: Readonly<Record<string, string>> = {},
): ScimResponse {
  return {
    status,
    headers: { "Content-Type": MEDIA_TYPE, ...headers },
    body: JSON.stringify({
      schemas: [ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    }),
  };
}
