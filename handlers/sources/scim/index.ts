/**
 * SCIM 2.0 as an identity source (README "SCIM 2.0 provisioning"). The identity provider calls
 * the SCIM endpoint (`service.ts`, served by the `scim` function); the endpoint stores the
 * resources and queues what each change means as canonical events, in the body below. This is
 * the ingest side: it reads those bodies back, so SCIM changes are merged and reconciled exactly
 * as every other source's.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { identityEventFrom } from "../../core/identity-event.js";
import type { IdentitySource, ListedUser } from "../../core/source.js";
import { groupChangeEvents, noteGroupChange, settleGroupChange } from "./group-change.js";
import { personOf } from "./person.js";
import type { ScimMessage, ScimStore, UserRecord } from "./store.js";

/** Users a listing page holds: one DynamoDB query each. */
const LIST_PAGE = 200;

/** The ingest message the SCIM endpoint sends: `{"kind": "scim.changes", "subject"?, "linkEmail"?, "events", "warnings"?}`. */
export const SCIM_MESSAGE_KIND = "scim.changes";

const ScimMessageSchema = z.object({
  kind: z.literal(SCIM_MESSAGE_KIND),
  subject: z.string().min(1).optional(),
  linkEmail: z.email().optional(),
  events: z.array(z.unknown()).min(1).max(100),
  warnings: z.array(z.string()).optional(),
});

/** The body the endpoint queues for one message. */
export function scimMessageBody(message: ScimMessage): string {
  return JSON.stringify({ kind: SCIM_MESSAGE_KIND, ...message });
}

/** A body on the ingest queue claimed by the SCIM source that is not what the endpoint sends. Permanent. */
export class InvalidScimMessageError extends SyncError {
  public readonly transient = false;
}

export const scimSource: IdentitySource<unknown, ScimStore> = {
  id: "scim",
  // Whoever holds the SCIM token may create users with any email: it changes only people no other
  // source provides, and never makes an outside address a member (core/desired-state.ts).
  confined: true,

  recognise: (body) => (body as { kind?: unknown } | null)?.kind === SCIM_MESSAGE_KIND,

  async translate(body) {
    const parsed = ScimMessageSchema.safeParse(body);
    if (!parsed.success) {
      throw new InvalidScimMessageError(
        `not a SCIM endpoint message: ${parsed.error.issues[0]?.message ?? "invalid"}`,
      );
    }
    const events = parsed.data.events.map(identityEventFrom);
    const first = events[0];
    return {
      status: "events",
      events,
      warnings: parsed.data.warnings,
      subject: parsed.data.subject,
      linkEmail: parsed.data.linkEmail,
      about: { kind: parsed.data.subject ? "scim.user" : "scim.group", eventId: first?.id },
    };
  },

  /**
   * The users the SCIM endpoint stored, as the identity provider last wrote them (the runtime
   * gives the store as the connection): a change that was stored but never reached the
   * directory is made good, and a user the provider deleted is no longer listed. Profile and
   * status only: memberships come from the groups, which the endpoint queues as they change. A
   * group change stored but never queued (answered 503, and the provider did not retry) is
   * carried out with the first page: its events are recorded with it, and the change is marked
   * done only once they are.
   */
  async *listUsers({ connection, listedAt, runId }, cursor) {
    const store = connection();
    const pending = cursor === undefined ? (await store.allGroups()).filter((g) => g.outbox) : [];
    const pendingUsers: ListedUser[] = [];
    for (const group of pending) {
      await noteGroupChange(store, group);
      // Each under the SCIM id of its user: the link the directory already keeps for them.
      for (const [subject, events] of await groupChangeEvents(store, group))
        pendingUsers.push({ subject, events });
    }
    let after = cursor;
    do {
      const page = await store.usersPage(after, LIST_PAGE);
      after = page.next;
      const users = page.users.filter((u) => !u.deleted).map((u) => listedUser(u, listedAt, runId));
      try {
        yield { users: [...pendingUsers.splice(0), ...users], cursor: after };
      } finally {
        // Reached when the engine asks for the next page or closes the listing, both only once it
        // has recorded this one: the pending group changes the page carried are done.
        for (const group of pending.splice(0)) await settleGroupChange(store, group);
      }
    } while (after !== undefined);
  },
};

function listedUser(record: UserRecord, listedAt: string, runId: string): ListedUser {
  const { user, warnings } = personOf(record.resource);
  const base = { id: `full-sync:${runId}:scim:${record.id}`, time: listedAt, source: "scim" };
  const events =
    record.resource.active === false
      ? [{ ...base, type: "user.deactivated" as const, user: { email: user.email, guest: user.guest } }]
      : [
          {
            ...base,
            id: `${base.id}:active`,
            type: "user.reactivated" as const,
            user: { email: user.email, guest: user.guest },
          },
          { ...base, type: "user.updated" as const, user },
        ];
  return { subject: record.id, events, warnings };
}
