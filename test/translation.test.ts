import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deduplicationIdOf, messageGroupIdOf, toCommands } from "../handlers/core/commands.js";
import { SyncConfigError } from "../handlers/core/config.js";
import { identityEventJsonSchema, parseIdentityEvent } from "../handlers/core/identity-event.js";
import { parseSyncConfig } from "../handlers/sources/index.js";

const config = parseSyncConfig(
  JSON.stringify({
    memberDomains: ["example.com"],
    roles: { admin: ["Tallyfy Admins"], standard: ["Staff"], light: ["Contractors"] },
    defaultRole: "light",
    groups: { Engineering: "Engineering", "00gabc": "Sales", Eng2: "0123456789abcdef0123456789abcdef" },
  }),
);

function translate(event: Record<string, unknown>) {
  return toCommands(
    parseIdentityEvent(JSON.stringify({ id: "e1", time: "2026-11-23T10:00:00Z", ...event })),
    config,
  );
}

describe("the published JSON Schema", () => {
  it("is the one generated from the zod schema (run npm run schema after changing the event)", () => {
    // Prepare
    const committed = JSON.parse(
      readFileSync(new URL("../schema/identity-event.schema.json", import.meta.url), "utf8"),
    );

    // Act
    const generated = JSON.parse(JSON.stringify(identityEventJsonSchema()));

    // Assess
    expect(committed).toEqual(generated);
  });
});

describe("configuration", () => {
  it("fills defaults for an empty document", () => {
    // Act
    const parsed = parseSyncConfig("{}");

    // Assess
    expect(parsed).toMatchObject({
      memberDomains: [],
      defaultRole: "standard",
      deprovision: "disable",
      createMissingGroups: false,
    });
  });

  it("names every bad key in one error", () => {
    // Act
    const error = (() => {
      try {
        parseSyncConfig(
          JSON.stringify({ memberDomains: ["not a domain"], defaultRole: "owner", deprovison: "none" }),
        );
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(SyncConfigError);
    expect(error?.message).toContain("memberDomains.0: must be a domain name such as example.com");
    expect(error?.message).toContain("defaultRole:");
    expect(error?.message).toContain("unknown key(s) deprovison");
  });
});

describe("events to commands", () => {
  it("decides role and every mapped group's membership from a full group list", () => {
    // Act
    const { commands } = translate({
      type: "user.updated",
      user: { email: "a@example.com", groups: ["Staff", "00gABC", "Tallyfy Admins"] },
    });

    // Assess
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({
      kind: "member.upsert",
      role: { set: "admin" },
      invite: true,
      memberships: [
        { group: "Engineering", present: false },
        { group: "Sales", present: true },
        { group: "0123456789abcdef0123456789abcdef", present: false },
      ],
    });
  });

  it("lets an explicit role win over groups, and leaves role and groups alone without either", () => {
    // Act
    const explicit = translate({
      type: "user.updated",
      user: { email: "a@example.com", role: "light", groups: ["Tallyfy Admins"] },
    });
    const plain = translate({ type: "user.updated", user: { email: "a@example.com", jobTitle: "CTO" } });

    // Assess
    expect(explicit.commands[0]).toMatchObject({ role: { set: "light" } });
    expect(plain.commands[0]).toMatchObject({
      profile: { jobTitle: "CTO" },
      role: undefined,
      memberships: undefined,
    });
  });

  it("sends a single membership change through the member's own message group, not the group's", () => {
    // Act
    const { commands } = translate({
      type: "group.member_added",
      user: { email: "a@example.com" },
      group: { name: "Engineering" },
    });

    // Assess
    expect(commands).toEqual([
      expect.objectContaining({
        kind: "member.upsert",
        invite: false,
        memberships: [{ group: "Engineering", present: true }],
      }),
    ]);
    expect(messageGroupIdOf(commands[0] as never)).toBe("member:a@example.com");
  });

  it("raises the role on joining a role group and drops it to the default on leaving", () => {
    // Act
    const added = translate({
      type: "group.member_added",
      user: { email: "a@example.com" },
      group: { name: "Staff" },
    });
    const removed = translate({
      type: "group.member_removed",
      user: { email: "a@example.com" },
      group: { name: "Staff" },
    });

    // Assess
    expect(added.commands).toEqual([
      expect.objectContaining({ kind: "member.upsert", role: { atLeast: "standard" }, invite: false }),
    ]);
    expect(removed.commands).toEqual([
      expect.objectContaining({ role: { demoteFrom: "standard", to: "light" } }),
    ]);
  });

  it("makes guests of emails outside the member domains", () => {
    // Act
    const created = translate({
      type: "user.created",
      user: { email: "g@partner.io", firstName: "G", groups: ["Engineering"] },
    });
    const joined = translate({
      type: "group.member_added",
      user: { email: "g@partner.io" },
      group: { name: "Engineering" },
    });

    // Assess
    expect(created.commands[0]).toMatchObject({ kind: "guest.upsert", create: true });
    expect(joined.commands).toEqual([
      expect.objectContaining({
        kind: "guest.upsert",
        create: false,
        memberships: [{ group: "Engineering", present: true }],
      }),
    ]);
  });

  it("ignores a change to an unmapped group, saying so", () => {
    // Act
    const result = translate({
      type: "group.member_added",
      user: { email: "a@example.com" },
      group: { name: "Finance" },
    });

    // Assess
    expect(result).toEqual({ commands: [], ignored: 'IdP group "Finance" is not mapped' });
  });

  it("renames a Tallyfy group mapped by id or by the same name, and keeps a name the admin chose", () => {
    // Act
    const byName = translate({
      type: "group.updated",
      group: { name: "Engineering 2", previousName: "Engineering" },
    });
    const byId = translate({ type: "group.updated", group: { name: "Platform", previousName: "Eng2" } });
    const chosen = translate({
      type: "group.updated",
      group: { name: "Revenue", previousName: "00gabc", description: "Money" },
    });

    // Assess
    expect(byName.commands).toEqual([
      expect.objectContaining({ kind: "group.update", group: "Engineering", name: "Engineering 2" }),
    ]);
    expect(byId.commands).toEqual([
      expect.objectContaining({ group: "0123456789abcdef0123456789abcdef", name: "Platform" }),
    ]);
    expect(chosen.commands).toEqual([
      expect.objectContaining({ group: "Sales", name: undefined, description: "Money" }),
    ]);
  });

  it("keys commands by entity and derives the same deduplication id from the same event", () => {
    // Act
    const first = translate({
      type: "user.updated",
      user: { email: "A@Example.com", groups: ["Engineering"] },
    }).commands[0];
    const again = translate({
      type: "user.updated",
      user: { email: "A@Example.com", groups: ["Engineering"] },
    }).commands[0];
    const rename = translate({
      type: "group.updated",
      group: { name: "Engineering 2", previousName: "Engineering" },
    });

    // Assess
    if (!first || !again) throw new Error("expected commands");
    expect(messageGroupIdOf(first)).toBe("member:a@example.com");
    expect(deduplicationIdOf(first)).toBe(deduplicationIdOf(again));
    expect(messageGroupIdOf(rename.commands[0] ?? first)).toBe("group:engineering");
    expect(messageGroupIdOf({ ...first, kind: "group.update", group: "Équipe Paris" } as never)).toMatch(
      /^group:[0-9a-f]{48}$/,
    );
  });
});
