import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SyncConfigError } from "../handlers/core/config.js";
import {
  assertNotFuture,
  desiredRole,
  FutureEventError,
  groupKeyOf,
  groupUpdates,
  groupWishes,
  isGuest,
  mergeEvent,
  type Person,
  profileOf,
} from "../handlers/core/desired-state.js";
import {
  type IdentityEvent,
  identityEventJsonSchema,
  parseIdentityEvent,
} from "../handlers/core/identity-event.js";
import { deduplicationIdOf, messageGroupIdOf } from "../handlers/core/reconcile-message.js";
import { parseSyncConfig } from "../handlers/sources/index.js";

const config = parseSyncConfig(
  JSON.stringify({
    memberDomains: ["example.com"],
    roles: { admin: ["Tallyfy Admins"], standard: ["Staff"], light: ["Contractors"] },
    defaultRole: "light",
    groups: { Engineering: "Engineering", "00gabc": "Sales", Eng2: "0123456789abcdef0123456789abcdef" },
  }),
);

let sequence = 0;

function parse(event: Record<string, unknown>) {
  sequence++;
  return parseIdentityEvent(
    JSON.stringify({
      id: `e${sequence}`,
      time: `2026-11-23T10:00:${String(sequence % 60).padStart(2, "0")}Z`,
      ...event,
    }),
  );
}

/** The person the events (earliest first unless they carry times) leave in the directory. */
function merge(events: (Record<string, unknown> | IdentityEvent)[]): Person {
  let person: Person | undefined;
  for (const event of events)
    person = mergeEvent(person, "id" in event ? (event as IdentityEvent) : parse(event), config).person;
  if (!person) throw new Error("no events");
  return person;
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

describe("events merged into desired state", () => {
  it("decides role and every mapped group's membership from a full group list", () => {
    // Act
    const person = merge([
      {
        type: "user.updated",
        user: { email: "a@example.com", groups: ["Staff", "00gABC", "Tallyfy Admins"] },
      },
    ]);

    // Assess
    expect(desiredRole(person, config)).toBe("admin");
    expect([...groupWishes(person, config)]).toEqual([
      ["Engineering", false],
      ["Sales", true],
      ["0123456789abcdef0123456789abcdef", false],
    ]);
  });

  it("lets the newer of an explicit role and the group list decide, and leaves role and groups alone without either", () => {
    // Act
    const explicit = merge([
      { type: "user.updated", user: { email: "a@example.com", groups: ["Tallyfy Admins"] } },
      { type: "user.updated", user: { email: "a@example.com", role: "light" } },
    ]);
    const regrouped = merge([
      { type: "user.updated", user: { email: "a@example.com", role: "light" } },
      { type: "user.updated", user: { email: "a@example.com", groups: ["Tallyfy Admins"] } },
    ]);
    const plain = merge([{ type: "user.updated", user: { email: "a@example.com", jobTitle: "CTO" } }]);

    // Assess
    expect(desiredRole(explicit, config)).toBe("light");
    expect(desiredRole(regrouped, config)).toBe("admin");
    expect(desiredRole(plain, config)).toBeUndefined();
    expect(groupWishes(plain, config).size).toBe(0);
  });

  it("counts a role group re-asserted after an explicit role as a change, since it now decides the role", () => {
    // Prepare
    const first = parse({
      type: "user.updated",
      user: { email: "a@example.com", role: "admin", groups: [] },
    });
    const later = parse({
      type: "group.member_removed",
      user: { email: "a@example.com" },
      group: { name: "Staff" },
    });
    const before = mergeEvent(undefined, first, config).person;

    // Act
    const { person, changed } = mergeEvent(before, later, config);

    // Assess
    expect([desiredRole(before, config), desiredRole(person, config), changed]).toEqual([
      "admin",
      "light",
      true,
    ]);
  });

  it("raises the role on joining a role group and drops it to the default on leaving", () => {
    // Act
    const added = merge([
      { type: "group.member_added", user: { email: "a@example.com" }, group: { name: "Staff" } },
    ]);
    const removed = merge([
      { type: "group.member_added", user: { email: "a@example.com" }, group: { name: "Staff" } },
      { type: "group.member_removed", user: { email: "a@example.com" }, group: { name: "Staff" } },
    ]);

    // Assess
    expect(desiredRole(added, config)).toBe("standard");
    expect(desiredRole(removed, config)).toBe("light");
  });

  it("lets a full list on a membership event decide over the one membership it names", () => {
    // Act
    const person = merge([
      {
        type: "group.member_removed",
        user: { email: "a@example.com", groups: ["Engineering"] },
        group: { name: "Engineering" },
      },
    ]);

    // Assess
    expect(groupWishes(person, config).get("Engineering")).toBe(true);
  });

  it("keeps the newest value of each fact, whatever order the events arrive in", () => {
    // Prepare
    const older = {
      type: "user.updated",
      time: "2026-11-23T10:00:00Z",
      user: { email: "a@example.com", jobTitle: "Old", groups: ["Engineering"] },
    };
    const newer = {
      type: "user.updated",
      time: "2026-11-23T10:05:00Z",
      user: { email: "a@example.com", jobTitle: "New", groups: [] },
    };

    // Act
    const [first, second] = [parse(older), parse(newer)];
    const inOrder = merge([first, second]);
    const reversed = merge([second, first]);

    // Assess
    expect(reversed).toEqual(inOrder);
    expect(profileOf(inOrder).jobTitle).toBe("New");
    expect(groupWishes(inOrder, config).get("Engineering")).toBe(false);
  });

  it("makes guests of emails outside the member domains, unless the source says otherwise", () => {
    // Act
    const guest = merge([{ type: "user.created", user: { email: "g@partner.io", firstName: "G" } }]);
    const member = merge([{ type: "user.created", user: { email: "g@partner.io", guest: false } }]);

    // Assess
    expect(isGuest(guest, config)).toBe(true);
    expect(isGuest(member, config)).toBe(false);
  });

  it("refuses an event dated more than five minutes ahead, naming it", () => {
    // Prepare
    const now = Date.parse("2026-11-23T10:00:00Z");

    // Act
    const ahead = () => assertNotFuture({ id: "e9", time: "2026-11-23T10:06:00Z" }, now);
    const skewed = () => assertNotFuture({ id: "e8", time: "2026-11-23T10:04:00Z" }, now);

    // Assess
    expect(ahead).toThrow(FutureEventError);
    expect(ahead).toThrow(/event e9 is dated 2026-11-23T10:06:00Z, 360 s in the future/);
    expect(skewed).not.toThrow();
  });

  it("renames a Tallyfy group mapped by id or by the same name, and keeps a name the admin chose", () => {
    // Act
    const byName = groupUpdates(
      parse({ type: "group.updated", group: { name: "Engineering 2", previousName: "Engineering" } }),
      config,
    );
    const byId = groupUpdates(
      parse({ type: "group.updated", group: { name: "Platform", previousName: "Eng2" } }),
      config,
    );
    const chosen = groupUpdates(
      parse({
        type: "group.updated",
        group: { name: "Revenue", previousName: "00gabc", description: "Money" },
      }),
      config,
    );

    // Assess
    expect(byName).toEqual([{ target: "Engineering", name: "Engineering 2", description: undefined }]);
    expect(byId).toEqual([
      { target: "0123456789abcdef0123456789abcdef", name: "Platform", description: undefined },
    ]);
    expect(chosen).toEqual([{ target: "Sales", name: undefined, description: "Money" }]);
  });

  it("keys reconcile messages by entity and revision, hashing what SQS cannot take", () => {
    // Act
    const first = { kind: "person" as const, key: "a@example.com", revision: 3 };

    // Assess
    expect(messageGroupIdOf(first)).toBe("person:a@example.com");
    expect(deduplicationIdOf(first)).toBe(deduplicationIdOf({ ...first }));
    expect(deduplicationIdOf(first)).not.toBe(deduplicationIdOf({ ...first, revision: 4 }));
    expect(messageGroupIdOf({ kind: "group", key: groupKeyOf("Équipe Paris") })).toMatch(
      /^group:[0-9a-f]{48}$/,
    );
    expect(groupKeyOf("0123456789ABCDEF0123456789abcdef")).toBe("0123456789abcdef0123456789abcdef");
  });
});
