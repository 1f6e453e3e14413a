/** SCIM Users: create, change and delete, each stored with the events it means, then queued. */

import type { EventUser, IdentityEvent } from "../../core/identity-event.js";
import { ScimRequestError } from "./errors.js";
import type { ScimGroups } from "./groups.js";
import {
  holder,
  jsonOf,
  liveRecord,
  MAX_ATTEMPTS,
  ok,
  type ResourceDeps,
  ScimConflictError,
  type ScimRequest,
  type ScimResponse,
  takenError,
  tooLarge,
} from "./http.js";
import { applyPatch } from "./patch.js";
import { emailOf, personOf } from "./person.js";
import { etagOf, project, renderUser } from "./render.js";
import { readUser, type UserResource } from "./resources.js";
import type { ScimMessage, UserRecord } from "./store.js";

export class ScimUsers {
  public constructor(
    private readonly deps: ResourceDeps,
    private readonly groups: ScimGroups,
  ) {}

  public async create(request: ScimRequest, base: string): Promise<ScimResponse> {
    const user = readUser(jsonOf(request));
    const email = emailOf(user);
    // A retried create whose events were not queued is queued now; the answer is still 409.
    await holder(await this.deps.store.userIdByName(user.userName), (id) => this.live(id), user.userName);
    const now = this.deps.now();
    const draft: UserRecord = {
      id: this.deps.newId(),
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
    await this.flush(record);
    const body = renderUser(record, base);
    return ok(body, 201, { Location: `${base}/Users/${record.id}`, ETag: etagOf(record.version) });
  }

  public async change(request: ScimRequest, id: string, base: string): Promise<ScimResponse> {
    const body = jsonOf(request);
    const record = await this.#update(id, request, (current) => {
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

  async #update(
    id: string,
    request: ScimRequest,
    change: (current: UserRecord) => UserResource,
  ): Promise<UserRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.live(id, request);
      const resource = change(current);
      emailOf(resource);
      const draft: UserRecord = {
        ...current,
        resource,
        version: current.version + 1,
        lastModified: Math.max(this.deps.now(), current.lastModified + 1),
        outbox: undefined,
      };
      const record = { ...draft, outbox: [userMessage(draft, current)] };
      const written = tooLarge(await this.deps.store.putUser(record, current));
      if (written === "taken") throw takenError(resource.userName);
      if (written === "written") {
        await this.flush(record);
        return record;
      }
    }
    throw new ScimConflictError(`user ${id} kept changing while this request was applied`);
  }

  public async delete(request: ScimRequest, id: string): Promise<ScimResponse> {
    const user = await this.live(id, request);
    // Out of every group first, so no group goes on naming a user that is gone.
    for (const groupId of await this.deps.store.groupsOf(id)) {
      await this.groups
        .update(groupId, undefined, (g) => ({
          resource: g.resource,
          members: g.members.filter((m) => m !== id),
        }))
        .catch((error: unknown) => {
          if (!(error instanceof ScimRequestError && error.status === 404)) throw error;
        });
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = attempt === 0 ? user : await this.live(id, request);
      const lastModified = Math.max(this.deps.now(), current.lastModified + 1);
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
        await this.flush(record);
        return { status: 204, headers: {} };
      }
    }
    throw new ScimConflictError(`user ${id} kept changing while it was deleted`);
  }

  /** The stored user, its pending events queued first; 404 when there is none (or it is deleted). */
  public live(id: string, request?: ScimRequest): Promise<UserRecord> {
    return liveRecord(
      () => this.deps.store.user(id),
      (r) => this.flush(r),
      `no User ${id}`,
      request,
    );
  }

  public async flush(record: UserRecord): Promise<void> {
    await this.deps.queue(record.outbox ?? []);
    if (record.deleted) await this.deps.store.deleteUser(record);
    else await this.deps.store.userQueued(record.id, record.version);
  }
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

function attributesOf(resource: UserResource): Record<string, unknown> {
  return structuredClone(resource) as Record<string, unknown>;
}
