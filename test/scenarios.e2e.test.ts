/**
 * The fourteen ways the command-replay design lost or reversed a change (docs/architecture.md
 * section 1), each replayed through the real handlers, fauxqs, dynalite and the fake Tallyfy.
 * Each test is named after its scenario.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline, totals } from "../local/pipeline.js";
import { eventsAt, expectConserved, membersOf, until } from "./support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

const at = eventsAt("scenario");

const names = { firstName: "Alice", lastName: "Ng" };

describe("the fourteen scenarios of docs/architecture.md section 1", () => {
  it("1: a full group list wins over an earlier add still waiting to be retried on the group", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.inject({ method: "PUT", path: /\/groups\/[0-9a-f]{32}$/, status: 503, times: 1 });

    // Act
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    const first = pipeline.drain();
    await until(() => pipeline.tallyfy.requests.some((r) => r.status === 503));
    await pipeline.send(at(2, "user.updated", { user: { email: "alice@example.com", groups: [] } }));
    await first;
    await pipeline.drain();

    // Assess
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("2: an add for someone not created yet never comes back to undo a later removal", async () => {
    // Prepare
    pipeline = await startPipeline();

    // Act
    await pipeline.send(
      at(1, "group.member_added", {
        user: { email: "alice@example.com" },
        group: { name: "Tallyfy Admins" },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pipeline.send(at(2, "user.created", { user: { email: "alice@example.com", ...names } }));
    await pipeline.send(
      at(3, "group.member_removed", {
        user: { email: "alice@example.com" },
        group: { name: "Tallyfy Admins" },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.role).toBe("standard");
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("3: a member created elsewhere a moment ago is found and deactivated, not concluded absent from a cache", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "bob@example.com", first_name: "Bob", last_name: "Stone" });
    await pipeline.send(at(1, "user.updated", { user: { email: "bob@example.com", jobTitle: "Engineer" } }));
    await pipeline.drain();
    pipeline.tallyfy.addMember({ email: "carol@example.com", first_name: "Carol", last_name: "King" });

    // Act
    await pipeline.send(at(2, "user.deactivated", { user: { email: "carol@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("carol@example.com")?.status).toBe("disabled");
  });

  it("4: of two events about one person in one ingest batch, the newer wins whichever is queued last", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });

    // Act
    await pipeline.send(
      at(5, "user.updated", { user: { email: "alice@example.com", jobTitle: "Director" } }),
      at(0, "user.updated", { user: { email: "alice@example.com", jobTitle: "Engineer" } }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.job_title).toBe("Director");
  });

  it("5: with deprovision remove, a person who leaves and comes back in one batch is in Tallyfy", async () => {
    // Prepare
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, deprovision: "remove" } });
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });

    // Act
    await pipeline.send(
      at(1, "user.deactivated", { user: { email: "alice@example.com" } }),
      at(2, "user.reactivated", { user: { email: "alice@example.com", ...names } }),
    );
    await pipeline.drain();

    // Assess
    expect(["active", "invited"]).toContain(pipeline.tallyfy.memberByEmail("alice@example.com")?.status);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("6: after a mapped group is renamed, a cold container still finds it and makes no second group", async () => {
    // Prepare
    pipeline = await startPipeline();
    for (const email of ["alice@example.com", "bob@example.com"])
      pipeline.tallyfy.addMember({ email, first_name: "A", last_name: "B" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    await pipeline.send(at(2, "group.updated", { group: { name: "Platform", previousName: "Engineering" } }));
    await pipeline.drain();

    // Act
    pipeline.coldStart();
    await pipeline.send(
      at(3, "group.member_added", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.groups.size).toBe(1);
    expect(membersOf(pipeline.tallyfy, "Platform")).toEqual(["alice@example.com", "bob@example.com"]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("7: a body shaped like an internal command or a reconcile message is refused at ingest, changing nobody", async () => {
    // Prepare
    pipeline = await startPipeline();
    const forgedCommand = {
      v: 1,
      kind: "member.upsert",
      eventId: "forged",
      eventType: "user.created",
      time: "2026-11-23T10:00:00Z",
      email: "mallory@example.com",
      profile: { firstName: "Mallory", lastName: "X" },
      role: { set: "admin" },
      invite: true,
    };
    const forgedReconcile = { kind: "person", key: "mallory@example.com", revision: 1 };

    // Act
    await pipeline.send(forgedCommand, forgedReconcile);
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.writes).toEqual([]);
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => l.errorType)).toEqual(["InvalidEventError", "InvalidEventError"]);
  });

  it("8: a guest whose departure does not say guest is still deactivated as the guest", async () => {
    // Prepare
    pipeline = await startPipeline();
    await pipeline.send(at(1, "user.created", { user: { email: "gus@example.com", guest: true, ...names } }));
    await pipeline.drain();

    // Act
    await pipeline.send(at(2, "user.deactivated", { user: { email: "gus@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.guests.get("gus@example.com")?.disabled_at).toBeTruthy();
    expect(pipeline.tallyfy.memberByEmail("gus@example.com")).toBeUndefined();
  });

  it("9: a removal or departure for someone Tallyfy does not have is a quiet no-op, never a dead letter", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Engineering" });

    // Act
    await pipeline.send(
      at(1, "group.member_removed", { user: { email: "ghost@example.com" }, group: { name: "Engineering" } }),
      at(1, "user.deactivated", { user: { email: "phantom@example.com" } }),
    );
    await pipeline.drain(20_000);

    // Assess
    expect(pipeline.tallyfy.writes).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
    expect(totals(pipeline.tallies.apply).deadLettered).toBe(0);
  });

  it("10: a full group list and an explicit role on a membership event decide", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    const engineering = pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Sales" });
    const alice = pipeline.tallyfy.memberByEmail("alice@example.com");
    if (alice) engineering.members = [alice.id];

    // Act
    await pipeline.send(
      at(1, "group.member_added", {
        user: { email: "alice@example.com", groups: ["Sales"], role: "admin" },
        group: { name: "Sales" },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.role).toBe("admin");
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual(["alice@example.com"]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
  });

  it("11: a member removed while a group's list is being written does not dead-letter the group's change", async () => {
    // Prepare
    pipeline = await startPipeline({
      config: { ...DEFAULT_TEST_CONFIG, deprovision: "remove" },
      applyConcurrency: 2,
    });
    const people = ["alice", "bob", "carol"].map((n) =>
      pipeline.tallyfy.addMember({ email: `${n}@example.com`, first_name: n, last_name: "X" }),
    );
    pipeline.tallyfy.addGroup({ name: "Engineering", members: people.slice(0, 2).map((p) => p.id) });
    // The group's write is slow to arrive: the removal lands after the list was read, before it is written.
    const groupPath = /\/groups\/[0-9a-f]{32}$/;
    pipeline.tallyfy.inject({ method: "PUT", path: groupPath, delayMs: 1_500, times: 1 });

    // Act
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "carol@example.com" }, group: { name: "Engineering" } }),
    );
    const adding = pipeline.drain();
    await until(() => pipeline.tallyfy.requests.some((r) => r.method === "PUT" && groupPath.test(r.path)));
    await pipeline.send(at(2, "user.deactivated", { user: { email: "alice@example.com" } }));
    await adding;
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")).toBeUndefined();
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["bob@example.com", "carol@example.com"]);
    // Tallyfy refused the list read before the removal; the group was read again, not dead-lettered.
    expect(pipeline.tallyfy.writes.filter((w) => w.path.includes("/groups/")).map((w) => w.status)).toEqual([
      422, 201,
    ]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  // Scenario 12 was the documentation contradicting the code: this pins what the README now says.
  it("12: deprovision applies to guests as to members: disable, remove, or leave alone", async () => {
    const outcomes: Record<string, unknown> = {};
    for (const deprovision of ["disable", "remove", "none"]) {
      // Prepare
      pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, deprovision } });
      pipeline.tallyfy.addGuest({ email: "gus@partner.io" });
      pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });

      // Act
      await pipeline.send(
        at(1, "user.deactivated", { user: { email: "gus@partner.io" } }),
        at(1, "user.deactivated", { user: { email: "alice@example.com" } }),
      );
      await pipeline.drain();
      const guest = pipeline.tallyfy.guests.get("gus@partner.io");
      outcomes[deprovision] = {
        guest: guest ? (guest.disabled_at ? "disabled" : "active") : "gone",
        member: pipeline.tallyfy.memberByEmail("alice@example.com")?.status ?? "gone",
      };
      if (deprovision !== "none") await pipeline.stop();
    }

    // Assess
    expect(outcomes).toEqual({
      disable: { guest: "disabled", member: "disabled" },
      remove: { guest: "gone", member: "gone" },
      none: { guest: "active", member: "active" },
    });
  });

  it("13: a guest who becomes a member and then leaves keeps no enabled guest record and no guest seat in groups", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Partners" });
    await pipeline.send(
      at(1, "user.created", {
        user: { email: "pat@example.com", guest: true, groups: ["Partners"], ...names },
      }),
    );
    await pipeline.drain();
    const wasGuestInGroup = pipeline.tallyfy.groupByName("Partners")?.guests ?? [];

    // Act
    await pipeline.send(
      at(2, "user.updated", {
        user: { email: "pat@example.com", guest: false, groups: ["Partners"], ...names },
      }),
    );
    await pipeline.drain();
    await pipeline.send(at(3, "user.deactivated", { user: { email: "pat@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(wasGuestInGroup).toEqual(["pat@example.com"]);
    expect(pipeline.tallyfy.guests.get("pat@example.com")?.disabled_at).toBeTruthy();
    expect(pipeline.tallyfy.groupByName("Partners")?.guests).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("pat@example.com")?.status).toBe("disabled");
  });

  it("14: one Tallyfy group mapped both by name and by id is one group: present if either mapping says so", async () => {
    // Prepare
    const id = "0123456789abcdef0123456789abcdef";
    pipeline = await startPipeline({
      config: { ...DEFAULT_TEST_CONFIG, groups: { Engineering: "Engineering", "00gENG": id } },
    });
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    pipeline.tallyfy.addGroup({ id, name: "Engineering" });

    // Act
    await pipeline.send(
      at(1, "user.updated", { user: { email: "alice@example.com", groups: ["Engineering"] } }),
    );
    await pipeline.drain();
    const byName = membersOf(pipeline.tallyfy, "Engineering");
    await pipeline.send(at(2, "user.updated", { user: { email: "alice@example.com", groups: ["00gENG"] } }));
    await pipeline.drain();
    const byId = membersOf(pipeline.tallyfy, "Engineering");
    await pipeline.send(at(3, "user.updated", { user: { email: "alice@example.com", groups: [] } }));
    await pipeline.drain();

    // Assess
    expect([byName, byId]).toEqual([["alice@example.com"], ["alice@example.com"]]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
  });
});

describe("what the directory refuses and reports", () => {
  it("dead-letters an event dated more than five minutes ahead, with the reason, and applies the rest", async () => {
    // Prepare
    const now = Date.UTC(2026, 10, 23, 10, 0, 0);
    pipeline = await startPipeline({ now: () => now });
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });

    // Act
    await pipeline.send(
      at(10, "user.updated", { user: { email: "alice@example.com", jobTitle: "From the future" } }),
      at(4, "user.updated", { user: { email: "alice@example.com", team: "Platform" } }),
    );
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("ingest");
    expect(letter?.errorType).toBe("FutureEventError");
    expect(letter?.errorMessage).toMatch(/dated 2026-11-23T10:10:\d\d\.000Z, \d+ s in the future/);
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.team).toBe("Platform");
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.job_title).not.toBe("From the future");
  });

  it("sends a guest's profile change to Tallyfy, and reports it when Tallyfy keeps the old values", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addGuest({ email: "gus@partner.io", first_name: "Gus" });

    // Act
    await pipeline.send(
      at(1, "user.updated", { user: { email: "gus@partner.io", firstName: "Gustav", lastName: "Lee" } }),
    );
    await pipeline.drain();

    // Assess
    const put = pipeline.tallyfy.writes.find((w) => w.method === "PUT" && w.path.includes("/guests/"));
    expect(put?.body).toMatchObject({ email: "gus@partner.io", first_name: "Gustav", last_name: "Lee" });
    expect(pipeline.guestProfilesNotApplied).toEqual(["gus@partner.io: firstName, lastName"]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("keeps a group's newest description when an older one arrives after a newer one of the same value", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Sales", description: "" });
    const update = (minute: number, description: string) =>
      at(minute, "group.updated", { group: { name: "Sales", description } });

    // Act
    for (const event of [update(2, "Builders"), update(4, "Builders"), update(3, "Sellers")]) {
      await pipeline.send(event);
      await pipeline.drain();
    }

    // Assess
    expect(pipeline.tallyfy.groupByName("Sales")?.description).toBe("Builders");
  });

  it("reconciles an already reconciled revision again once the configuration changed", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Platform" });
    const change = at(1, "user.updated", { user: { email: "alice@example.com", groups: ["Engineering"] } });
    await pipeline.send(change);
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Platform");

    // Act: Engineering now maps to Platform; the same event is redelivered (a redrive, a duplicate).
    pipeline.reconfigure({ ...DEFAULT_TEST_CONFIG, groups: { Engineering: "Platform" } });
    await pipeline.send(change);
    await pipeline.drain();

    // Assess
    expect(before).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Platform")).toEqual(["alice@example.com"]);
  });

  it("skips a revision already reconciled without calling Tallyfy", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    const change = at(1, "user.updated", { user: { email: "alice@example.com", jobTitle: "Lead" } });
    await pipeline.send(change);
    await pipeline.drain();
    const calls = pipeline.tallyfy.requests.length;

    // Act
    await pipeline.send(change, { ...change, id: "older", time: "2026-11-23T09:00:00Z" });
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.requests.length).toBe(calls);
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.job_title).toBe("Lead");
  });
});
