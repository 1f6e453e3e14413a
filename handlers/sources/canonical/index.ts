/**
 * The canonical identity event (`core/identity-event.ts`, published as JSON Schema): what any
 * producer may send. The registry's last resort: a body no other source claims is read as one.
 */
import { identityEventFrom } from "../../core/identity-event.js";
import type { IdentitySource } from "../../core/source.js";

export const canonicalSource: IdentitySource = {
  id: "canonical",

  recognise: () => true,

  async translate(json) {
    const event = identityEventFrom(json);
    return { status: "events", events: [event], about: { kind: event.type, eventId: event.id } };
  },
};
