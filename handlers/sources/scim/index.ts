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
import type { IdentitySource } from "../../core/source.js";
import type { ScimMessage } from "./store.js";

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

export const scimSource: IdentitySource = {
  id: "scim",

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
};
