/**
 * A source taking over a person only SCIM named forgets what SCIM said, and its own event
 * decides. The takeover marks SCIM's memberships absent at the event's version; the same event's
 * list must still put the person back in a group it names (found by an attack on the group-list
 * stamp: a list naming a group SCIM had named too left the person out of it).
 */
import { describe, expect, it } from "vitest";
import {
  desiredRole,
  type EventSource,
  mergeEvent,
  type Person,
  wantsGroup,
} from "../../handlers/core/desired-state.js";
import { type IdentityEvent, parseIdentityEvent } from "../../handlers/core/identity-event.js";
import { parseSyncConfig } from "../../handlers/sources/index.js";

const config = parseSyncConfig(
  JSON.stringify({
    memberDomains: ["example.com"],
    departureBrake: false,
    roles: { admin: ["Admins"] },
    groups: { Eng: "Engineering", Ops: "Operations" },
  }),
);

function at(second: number, id: string, fields: Record<string, unknown>): IdentityEvent {
  return parseIdentityEvent(
    JSON.stringify({ id, time: new Date(Date.UTC(2026, 11, 7, 10, 0, second)).toISOString(), ...fields }),
  );
}

function merge(start: Person | undefined, event: IdentityEvent, source: EventSource): Person {
  return mergeEvent(start, event, config, source).person;
}

describe("a source taking over a person SCIM named first", () => {
  it("keeps them in a group its own takeover event lists, and takes them out of one it does not", () => {
    // Prepare: SCIM put Ana in Eng and Ops.
    let ana = merge(
      undefined,
      at(0, "scim-1", {
        type: "group.member_added",
        user: { email: "ana@example.com" },
        group: { name: "Eng" },
      }),
      { id: "scim", confined: true },
    );
    ana = merge(
      ana,
      at(1, "scim-2", {
        type: "group.member_added",
        user: { email: "ana@example.com" },
        group: { name: "Ops" },
      }),
      { id: "scim", confined: true },
    );

    // Act: Okta takes her over with a full list that names Eng and Admins.
    const okta = merge(
      ana,
      at(60, "okta-1", {
        type: "user.created",
        user: { email: "ana@example.com", firstName: "Ana", lastName: "Lee", groups: ["Eng", "Admins"] },
      }),
      { id: "okta" },
    );

    // Assess
    expect(desiredRole(okta, config)).toBe("admin");
    expect(wantsGroup(okta, "Engineering", config)).toBe(true);
    expect(wantsGroup(okta, "Operations", config)).toBe(false);
  });

  it("keeps them in the one group its takeover event adds them to", () => {
    // Prepare
    const ana = merge(
      undefined,
      at(0, "scim-1", {
        type: "group.member_added",
        user: { email: "ana@example.com" },
        group: { name: "Eng" },
      }),
      { id: "scim", confined: true },
    );

    // Act
    const okta = merge(
      ana,
      at(60, "okta-1", {
        type: "group.member_added",
        user: { email: "ana@example.com" },
        group: { name: "Eng" },
      }),
      { id: "okta" },
    );

    // Assess
    expect(wantsGroup(okta, "Engineering", config)).toBe(true);
  });
});
