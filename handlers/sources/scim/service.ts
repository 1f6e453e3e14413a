/**
 * The SCIM 2.0 service provider (RFC 7644): `/Users`, `/Groups` and the discovery endpoints, over
 * a {@link ScimStore}. It answers from what it keeps and never calls Tallyfy: each change is
 * stored, then its identity events are handed to `queue` (the ingest queue, in production), and
 * the pipeline reconciles Tallyfy from there. A request is answered only once its events are
 * queued; one that fails on the way is refused as transient (503), and the IdP retries it.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { invalidFilter, notFound, ScimRequestError } from "./errors.js";
import { parseFilter } from "./filter.js";
import { ScimGroups } from "./groups.js";
import {
  decoded,
  errorResponse,
  headerOf,
  integer,
  ok,
  type ScimRequest,
  type ScimResponse,
} from "./http.js";
import {
  listResponse,
  MAX_PAYLOAD_BYTES,
  MAX_RESULTS,
  project,
  renderGroup,
  renderUser,
  resourceTypes,
  schemas,
  serviceProviderConfig,
} from "./render.js";
import { MAX_USERNAME_BYTES, type ResourceType } from "./resources.js";
import type { GroupRecord, ScimMessage, ScimStore, UserRecord } from "./store.js";
import { ScimUsers } from "./users.js";

export type { ScimRequest, ScimResponse } from "./http.js";
export { ScimConflictError } from "./http.js";

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

/** Our ids are UUIDs; an id this long names nothing (and DynamoDB's sort keys stop at 1,024 bytes). */
const MAX_ID_BYTES = 256;

export class ScimService {
  readonly #users: ScimUsers;
  readonly #groups: ScimGroups;

  public constructor(private readonly deps: ScimServiceDeps) {
    const resources = {
      store: deps.store,
      queue: deps.queue,
      now: deps.now ?? Date.now,
      newId: deps.newId ?? randomUUID,
    };
    this.#groups = new ScimGroups(resources);
    this.#users = new ScimUsers(resources, this.#groups);
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
    // An id longer than any we issue could not be a key of the table: nothing has it.
    if (id !== undefined && Buffer.byteLength(id) > MAX_ID_BYTES)
      throw notFound(`no resource ${id.slice(0, 64)}…`);
    const method = request.method.toUpperCase();
    const { query } = request;
    if (endpoint === "users" || endpoint === "groups") {
      const type: ResourceType = endpoint === "users" ? "User" : "Group";
      if (id === undefined) {
        if (method === "GET") return this.#list(type, query, base);
        if (method === "POST")
          return type === "User" ? this.#users.create(request, base) : this.#groups.create(request, base);
      } else {
        if (method === "GET") return this.#get(type, id, query, base);
        if (method === "PUT" || method === "PATCH") {
          return type === "User"
            ? this.#users.change(request, id, base)
            : this.#groups.change(request, id, base);
        }
        if (method === "DELETE")
          return type === "User" ? this.#users.delete(request, id) : this.#groups.delete(request, id);
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

  async #get(
    type: ResourceType,
    id: string,
    query: ScimRequest["query"],
    base: string,
  ): Promise<ScimResponse> {
    const body =
      type === "User"
        ? renderUser(await this.#users.live(id), base)
        : renderGroup(await this.#groups.live(id), base);
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
    if (
      lookup &&
      Buffer.byteLength(lookup.value) > (lookup.attribute === "id" ? MAX_ID_BYTES : MAX_USERNAME_BYTES)
    ) {
      throw invalidFilter(`the ${lookup.attribute} in the filter is longer than any this endpoint keeps`);
    }
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
        if (type === "User") await this.#users.flush(record as UserRecord);
        else await this.#groups.flush(record as GroupRecord);
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

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
