/**
 * A full group list says the person is absent from every mapped group it does not name. Stored as
 * one stamp, not one absence per mapped group: with 500 mappings an absence each made every
 * person item about 43 KB (43 write units an event) and the full reconciliation's end ran out of
 * memory. The stamp must say exactly what the absences said: the newest word on each group wins.
 */
import { marshall } from "@aws-sdk/util-dynamodb";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  desiredRole,
  groupWishes,
  type Membership,
  membershipIn,
  membershipKey,
  membershipsOf,
  mergeEvent,
  type Person,
  wantsGroup,
} from "../handlers/core/desired-state.js";
import { type IdentityEvent, parseIdentityEvent } from "../handlers/core/identity-event.js";
import { parseSyncConfig } from "../handlers/sources/index.js";

const MAPPED = 500;
const mappedNames = Array.from({ length: MAPPED }, (_, i) => `Team ${String(i).padStart(3, "0")}`);
const config = parseSyncConfig(
  JSON.stringify({
    memberDomains: ["example.com"],
    roles: { admin: ["Team 000"], standard: [], light: ["Team 001"] },
    defaultRole: "standard",
    groups: Object.fromEntries(mappedNames.map((name) => [name, `Tallyfy ${name}`])),
  }),
);

function event(second: number, id: string, fields: Record<string, unknown>): IdentityEvent {
  return parseIdentityEvent(
    JSON.stringify({
      id,
      time: new Date(Date.UTC(2026, 11, 7, 10, 0, second)).toISOString(),
      ...fields,
    }),
  );
}

const list = (second: number, groups: string[]) =>
  event(second, `list-${second}`, { type: "user.updated", user: { email: "ana@example.com", groups } });
const delta = (second: number, group: string, added: boolean) =>
  event(second, `delta-${second}`, {
    type: added ? "group.member_added" : "group.member_removed",
    user: { email: "ana@example.com" },
    group: { name: group },
  });

function mergeAll(events: readonly IdentityEvent[], start?: Person): Person {
  let person = start;
  for (const e of events) person = mergeEvent(person, e, config).person;
  if (!person) throw new Error("no events");
  return person;
}

describe("a person's item with 500 mapped groups", () => {
  it("stores the groups they are in and one stamp, not an absence per mapped group", () => {
    // Prepare
    const events = [list(1, ["Team 002", "Team 003"])];

    // Act
    const person = mergeAll(events);

    // Assess
    expect(Object.keys(person.memberships).sort()).toEqual(["team 002", "team 003"]);
    expect(Buffer.byteLength(JSON.stringify(marshall(person, { removeUndefinedValues: true })))).toBeLessThan(
      1024,
    );
    expect(Object.values(membershipsOf(person, config)).filter((m) => !m.value)).toHaveLength(MAPPED - 2);
    expect(groupWishes(person, config).size).toBe(MAPPED);
  });

  it("refuses an older addition to a group the newer list left out, and takes a newer one", () => {
    // Prepare
    const listed = mergeAll([list(10, ["Team 002"])]);

    // Act
    const late = mergeEvent(listed, delta(5, "Team 004", true), config);
    const later = mergeEvent(listed, delta(15, "Team 004", true), config);

    // Assess
    expect(late.changed).toBe(false);
    expect(membershipIn(late.person, "team 004", config)?.value).toBe(false);
    expect(later.changed).toBe(true);
    expect(membershipIn(later.person, "team 004", config)).toMatchObject({ value: true });
  });

  it("keeps a removal newer than the list, and a newer list decides again", () => {
    // Prepare
    const removed = mergeAll([list(10, ["Team 002", "Team 003"]), delta(20, "Team 003", false)]);

    // Act
    const relisted = mergeEvent(removed, list(30, ["Team 003"]), config).person;

    // Assess
    expect(membershipIn(removed, "team 003", config)).toMatchObject({ value: false });
    expect(Object.keys(relisted.memberships)).toEqual(["team 003"]);
    expect(membershipIn(relisted, "team 002", config)?.value).toBe(false);
  });

  it("compacts an item stored with one absence per mapped group on its next list", () => {
    // Prepare: the item as the directory kept it before the stamp.
    const v = `${String(Date.UTC(2026, 11, 7, 10, 0, 1)).padStart(15, "0")}#old`;
    const stored: Person = {
      email: "ana@example.com",
      address: "ana@example.com",
      profile: {},
      memberships: Object.fromEntries(
        mappedNames.map((name, i): [string, Membership] => [
          membershipKey(name),
          { name, value: i === 2, v },
        ]),
      ),
    };

    // Act
    const person = mergeAll([list(40, ["Team 002"])], stored);

    // Assess
    expect(Object.keys(person.memberships)).toEqual(["team 002"]);
    expect(desiredRole(person, config)).toBe("standard");
  });

  it("gives the role the newest word on each role group gives", () => {
    // Prepare
    const admin = mergeAll([list(1, ["Team 000"])]);

    // Act
    const demoted = mergeEvent(admin, list(2, ["Team 001"]), config).person;
    const stale = mergeEvent(demoted, delta(1, "Team 000", true), config).person;

    // Assess
    expect(desiredRole(admin, config)).toBe("admin");
    expect(desiredRole(demoted, config)).toBe("light");
    expect(desiredRole(stale, config)).toBe("light");
  });

  it("applies a mapping added later to the newest list at once, as the next full reconciliation would", () => {
    // Prepare: a list stored while "Finance" was mapped to nothing.
    const unmapped = parseSyncConfig(
      JSON.stringify({ memberDomains: ["example.com"], groups: { "Team 002": "Tallyfy Team 002" } }),
    );
    let person: Person | undefined;
    for (const e of [list(1, ["Team 002"])]) person = mergeEvent(person, e, unmapped).person;
    if (!person) throw new Error("no person");

    // Act: the mapping is added, with no event since.
    const mapped = parseSyncConfig(
      JSON.stringify({
        memberDomains: ["example.com"],
        groups: { "Team 002": "Tallyfy Team 002", Finance: "Tallyfy Finance" },
      }),
    );

    // Assess: the list said she is not in Finance; the configuration of the day reads it so.
    expect(wantsGroup(person, "Tallyfy Finance", unmapped)).toBeUndefined();
    expect(wantsGroup(person, "Tallyfy Finance", mapped)).toBe(false);
    expect(wantsGroup(person, "Tallyfy Team 002", mapped)).toBe(true);
  });

  it("says of every mapped group what the newest list or change about it said, in any order of arrival", () => {
    const groups = mappedNames.slice(0, 6);
    const word = fc.oneof(
      fc.record({ kind: fc.constant("list" as const), groups: fc.subarray(groups) }),
      fc.record({
        kind: fc.constant("delta" as const),
        group: fc.constantFrom(...groups),
        added: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 12 }).chain((words) =>
          fc.tuple(
            fc.constant(words),
            fc.shuffledSubarray(
              words.map((_, i) => i),
              { minLength: words.length },
            ),
          ),
        ),
        ([words, order]) => {
          // Prepare: word i is dated second i; they arrive in a shuffled order.
          const events = words.map((w, i) =>
            w.kind === "list" ? list(i, w.groups) : delta(i, w.group, w.added),
          );

          // Act
          const person = mergeAll(order.map((i) => events[i] as IdentityEvent));

          // Assess: the newest word that speaks of a group decides it.
          for (const name of mappedNames) {
            let expected: boolean | undefined;
            for (const w of words) {
              if (w.kind === "list") expected = w.groups.includes(name);
              else if (w.group === name) expected = w.added;
            }
            expect(membershipIn(person, membershipKey(name), config)?.value).toBe(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
