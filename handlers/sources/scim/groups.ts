import { invalidValue, ScimRequestError } from "./errors.js";
import {
  groupChangeEvents,
  namesOf,
  noteGroupChange,
  sameName,
  sameNames,
  settleGroupChange,
  unique,
} from "./group-change.js";
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
import { etagOf, MAX_GROUP_MEMBERS, renderGroup } from "./render.js";
import { readGroup } from "./resources.js";
import type { GroupChange, GroupRecord, ScimMessage } from "./store.js";

/** Events per ingest message: a fraction of SQS's 256 KB, and a few seconds of ingest work. */
const EVENTS_PER_MESSAGE = 50;

export class ScimGroups {
  public constructor(private readonly deps: ResourceDeps) {}

  public async create(request: ScimRequest, base: string): Promise<ScimResponse> {
    const group = readGroup(jsonOf(request));
    const members = unique((group.members ?? []).map((m) => m.value));
    await this.#checkMembers(members, members.length);
    // Names are unique when a group is created (a create retried after a 503 is refused, not
    // doubled); a rename may take a name another group holds, as Entra swaps names that way.
    const namesake = (await this.deps.store.allGroups()).find(
      (g) => !g.deleted && sameName(g.resource.displayName, group.displayName),
    );
    await holder(namesake?.id, (id) => this.live(id), group.displayName);
    const now = this.deps.now();
    const { members: _members, ...resource } = group;
    const record: GroupRecord = {
      id: this.deps.newId(),
      resource,
      members,
      version: 1,
      created: now,
      lastModified: now,
      outbox: { added: members, removed: [] },
    };
    if (tooLarge(await this.deps.store.putGroup(record)) !== "written") throw takenError(group.displayName);
    await this.flush(record);
    const body = renderGroup(record, base);
    return ok(body, 201, { Location: `${base}/Groups/${record.id}`, ETag: etagOf(record.version) });
  }

  public async change(request: ScimRequest, id: string, base: string): Promise<ScimResponse> {
    const body = jsonOf(request);
    const isPut = request.method.toUpperCase() === "PUT";
    const record = await this.update(id, request, (current) => {
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

  public async delete(request: ScimRequest, id: string): Promise<ScimResponse> {
    await this.update(id, request, (g) => ({ resource: g.resource, members: [] }), true);
    return { status: 204, headers: {} };
  }

  public async update(
    id: string,
    request: ScimRequest | undefined,
    change: (current: GroupRecord) => Pick<GroupRecord, "resource" | "members">,
    deleted = false,
  ): Promise<GroupRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.live(id, request);
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
        lastModified: Math.max(this.deps.now(), current.lastModified + 1),
        outbox,
        ...(deleted ? { deleted } : {}),
      };
      const written = tooLarge(await this.deps.store.putGroup(record, current));
      if (written === "taken") throw takenError(record.resource.displayName);
      if (written === "written") {
        await this.flush(record);
        return record;
      }
    }
    throw new ScimConflictError(`group ${id} kept changing while this request was applied`);
  }

  public live(id: string, request?: ScimRequest): Promise<GroupRecord> {
    return liveRecord(
      () => this.deps.store.group(id),
      (r) => this.flush(r),
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
  public async flush(record: GroupRecord): Promise<void> {
    const events = [...(await groupChangeEvents(this.deps.store, record)).values()].flat();
    await noteGroupChange(this.deps.store, record);
    const messages: ScimMessage[] = [];
    for (let start = 0; start < events.length; start += EVENTS_PER_MESSAGE) {
      messages.push({ events: events.slice(start, start + EVENTS_PER_MESSAGE) });
    }
    await this.deps.queue(messages);
    await settleGroupChange(this.deps.store, record);
  }
}

function groupAttributes(group: GroupRecord): Record<string, unknown> {
  return { ...structuredClone(group.resource), members: group.members.map((value) => ({ value })) };
}
