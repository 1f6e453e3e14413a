import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { event, startPipeline, type TestPipeline, totals } from "../local/pipeline.js";
import { expectConserved } from "./support/e2e.js";

let pipeline: TestPipeline;

beforeEach(async () => {
  pipeline = await startPipeline();
});

afterEach(async () => {
  // Every batch of both handlers must account for each record it received, exactly once.
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

const alice = { email: "alice@example.com", firstName: "Alice", lastName: "Ng", timezone: "Europe/London" };

describe("onboarding", () => {
  it("invites a new member with the role and groups her IdP groups give", async () => {
    // Prepare
    const { tallyfy } = pipeline;
    const engineering = tallyfy.addGroup({ name: "Engineering", description: "Builders" });
    const sales = tallyfy.addGroup({ name: "Sales", description: "Sellers" });

    // Act
    await pipeline.send(
      event("user.created", {
        user: { ...alice, jobTitle: "Engineer", groups: ["Tallyfy Admins", "Engineering"] },
      }),
    );
    await pipeline.drain();

    // Assess
    const member = tallyfy.memberByEmail("alice@example.com");
    expect(member).toMatchObject({
      first_name: "Alice",
      last_name: "Ng",
      role: "admin",
      status: "invited",
      job_title: "Engineer",
    });
    expect(tallyfy.groups.get(engineering.id)?.members).toEqual([member?.id]);
    expect(tallyfy.groups.get(sales.id)?.members).toEqual([]);
    expect(tallyfy.groups.get(engineering.id)?.description).toBe("Builders");
  });

  it("creates a guest for an email outside the member domains and adds it to its mapped group", async () => {
    // Prepare
    const partners = pipeline.tallyfy.addGroup({ name: "Partners", description: "Outside help" });

    // Act
    await pipeline.send(
      event("user.created", {
        user: { email: "gus@partner.io", firstName: "Gus", lastName: "Lee", groups: ["Partners"] },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.guests.get("gus@partner.io")).toMatchObject({
      first_name: "Gus",
      last_name: "Lee",
    });
    expect(pipeline.tallyfy.groups.get(partners.id)?.guests).toEqual(["gus@partner.io"]);
    expect(pipeline.tallyfy.memberByEmail("gus@partner.io")).toBeUndefined();
  });
});

describe("profile changes", () => {
  it("changes one field and leaves the others as they were, sending the required fields from Tallyfy", async () => {
    // Prepare
    const member = pipeline.tallyfy.addMember({
      ...{ email: "alice@example.com", first_name: "Alice", last_name: "Ng" },
      timezone: "Asia/Tokyo",
      team: "Platform",
      phone: "+44 1",
    });

    // Act
    await pipeline.send(
      event("user.updated", { user: { email: "ALICE@example.com", jobTitle: "Staff Engineer" } }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.get(member.id)).toMatchObject({
      job_title: "Staff Engineer",
      team: "Platform",
      phone: "+44 1",
      timezone: "Asia/Tokyo",
      first_name: "Alice",
      role: "standard",
    });
    const put = pipeline.tallyfy.writes.find((w) => w.method === "PUT");
    expect(put?.body).toMatchObject({
      first_name: "Alice",
      last_name: "Ng",
      timezone: "Asia/Tokyo",
      job_title: "Staff Engineer",
    });
    expect(pipeline.tallyfy.writes).toHaveLength(1);
  });

  it("makes no write for an event that changes nothing", async () => {
    // Prepare
    pipeline.tallyfy.addMember({
      email: "alice@example.com",
      first_name: "Alice",
      last_name: "Ng",
      timezone: "Europe/London",
    });

    // Act
    await pipeline.send(event("user.updated", { user: alice }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.writes).toEqual([]);
    expect(totals(pipeline.tallies.apply)).toMatchObject({ noop: 1, applied: 0 });
  });
});

describe("lifecycle", () => {
  it("disables a departing member and enables her again on return", async () => {
    // Prepare
    const member = pipeline.tallyfy.addMember({ email: "alice@example.com" });

    // Act
    await pipeline.send(event("user.deactivated", { user: { email: "alice@example.com" } }));
    await pipeline.drain();
    const afterDeparture = pipeline.tallyfy.members.get(member.id)?.status;
    await pipeline.send(event("user.reactivated", { user: { email: "alice@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(afterDeparture).toBe("disabled");
    expect(pipeline.tallyfy.members.get(member.id)?.status).toBe("active");
    expect(pipeline.tallyfy.writes.map((w) => `${w.method} ${w.path.split("/").slice(-1)[0]}`)).toEqual([
      "DELETE disable",
      "PUT enable",
    ]);
  });

  it("disables a departing guest", async () => {
    // Prepare
    pipeline.tallyfy.addGuest({ email: "gus@partner.io" });

    // Act
    await pipeline.send(event("user.deactivated", { user: { email: "gus@partner.io" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.guests.get("gus@partner.io")?.disabled_at).not.toBeNull();
  });

  it("makes no change for a departure of someone Tallyfy does not know, without dead-lettering it", async () => {
    // Act
    await pipeline.send(event("user.deactivated", { user: { email: "ghost@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.writes).toEqual([]);
    expect(totals(pipeline.tallies.apply)).toMatchObject({ noop: 1, deadLettered: 0 });
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });
});

describe("groups", () => {
  it("adds and removes a member on group events, raising and dropping the role the group gives", async () => {
    // Prepare
    const member = pipeline.tallyfy.addMember({ email: "bob@example.com", role: "standard" });
    const engineering = pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });

    // Act
    await pipeline.send(
      event("group.member_added", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
      event("group.member_added", { user: { email: "bob@example.com" }, group: { name: "Tallyfy Admins" } }),
    );
    await pipeline.drain();
    const promoted = {
      role: pipeline.tallyfy.members.get(member.id)?.role,
      members: [...(pipeline.tallyfy.groups.get(engineering.id)?.members ?? [])],
    };
    await pipeline.send(
      event("group.member_removed", {
        user: { email: "bob@example.com" },
        group: { name: "Tallyfy Admins" },
      }),
      event("group.member_removed", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    expect(promoted).toEqual({ role: "admin", members: [member.id] });
    expect(pipeline.tallyfy.members.get(member.id)?.role).toBe("standard");
    expect(pipeline.tallyfy.groups.get(engineering.id)?.members).toEqual([]);
  });

  it("renames a group mapped under its IdP name and updates its description, keeping its members", async () => {
    // Prepare
    const pipelineConfig = await restartWith({ groups: { Eng: "Eng" } });
    const member = pipelineConfig.tallyfy.addMember({ email: "bob@example.com" });
    const group = pipelineConfig.tallyfy.addGroup({ name: "Eng", description: "Old", members: [member.id] });

    // Act
    await pipelineConfig.send(
      event("group.updated", {
        group: { name: "Engineering", previousName: "Eng", description: "Everyone who builds" },
      }),
    );
    await pipelineConfig.drain();

    // Assess
    expect(pipelineConfig.tallyfy.groups.get(group.id)).toMatchObject({
      name: "Engineering",
      description: "Everyone who builds",
      members: [member.id],
    });
  });

  it("never touches a Tallyfy group the configuration does not map", async () => {
    // Prepare
    const member = pipeline.tallyfy.addMember({ email: "bob@example.com" });
    const unmapped = pipeline.tallyfy.addGroup({ name: "Finance", members: [member.id] });
    pipeline.tallyfy.addGroup({ name: "Engineering" });

    // Act
    await pipeline.send(
      event("user.updated", { user: { email: "bob@example.com", groups: ["Engineering"] } }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.groups.get(unmapped.id)?.members).toEqual([member.id]);
    expect(pipeline.tallyfy.writes.every((w) => !w.path.endsWith(unmapped.id))).toBe(true);
  });

  it("lands two concurrent membership changes to one group, losing neither", async () => {
    // Prepare
    const a = pipeline.tallyfy.addMember({ email: "a@example.com" });
    const b = pipeline.tallyfy.addMember({ email: "b@example.com" });
    const c = pipeline.tallyfy.addMember({ email: "c@example.com" });
    const group = pipeline.tallyfy.addGroup({ name: "Engineering", members: [c.id] });

    // Act
    await pipeline.send(
      event("group.member_added", { user: { email: "a@example.com" }, group: { name: "Engineering" } }),
      event("user.updated", { user: { email: "b@example.com", groups: ["Engineering"] } }),
      event("group.member_removed", { user: { email: "c@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    expect([...(pipeline.tallyfy.groups.get(group.id)?.members ?? [])].sort()).toEqual([a.id, b.id].sort());
  });

  it("looks each mapped group up by name once, then by the id the directory kept", async () => {
    // Prepare
    const alice = pipeline.tallyfy.addMember({ email: "alice@example.com" });
    const groups = ["Engineering", "Sales", "Partners"].map((name) => pipeline.tallyfy.addGroup({ name }));
    await pipeline.send(
      event("user.updated", {
        user: { email: "alice@example.com", groups: ["Engineering", "Sales", "Partners"] },
      }),
    );
    await pipeline.drain();
    const lookupsBefore = pipeline.tallyfy.requests.filter(
      (r) => r.method === "GET" && r.path.endsWith("/groups"),
    );

    // Act
    await pipeline.send(event("user.updated", { user: { email: "alice@example.com", groups: ["Sales"] } }));
    await pipeline.drain();

    // Assess
    const [engineering, sales, partners] = groups.map((g) => pipeline.tallyfy.groups.get(g.id)?.members);
    expect([engineering, sales, partners]).toEqual([[], [alice.id], []]);
    const lookups = pipeline.tallyfy.requests.filter((r) => r.method === "GET" && r.path.endsWith("/groups"));
    expect(lookupsBefore).toHaveLength(3);
    expect(lookups).toHaveLength(3);
  });

  it("runs several apply functions at once without mixing up their batches", async () => {
    // Prepare
    await pipeline.stop();
    pipeline = await startPipeline({ applyConcurrency: 3 });
    const groups = ["Engineering", "Sales"].map((name) => pipeline.tallyfy.addGroup({ name }));
    const users = Array.from({ length: 24 }, (_, n) => ({
      email: `u${n}@example.com`,
      firstName: `U${n}`,
      lastName: "Test",
      groups: [n % 2 === 0 ? "Engineering" : "Sales"],
    }));

    // Act
    await pipeline.send(...users.map((user) => event("user.created", { user })));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.size).toBe(24);
    expect(groups.map((g) => pipeline.tallyfy.groups.get(g.id)?.members.length)).toEqual([12, 12]);
    expect(totals(pipeline.tallies.apply).retried).toBe(0);
  });

  it("dead-letters a change to a mapped group that does not exist, naming it", async () => {
    // Prepare
    pipeline.tallyfy.addMember({ email: "bob@example.com" });

    // Act
    await pipeline.send(
      event("group.member_added", { user: { email: "bob@example.com" }, group: { name: "Sales" } }),
    );
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("reconcile");
    expect(letter?.attributes).toMatchObject({ errorType: "GroupNotFoundError", entity: "group:name:sales" });
    expect(letter?.attributes.errorMessage).toContain('Tallyfy group "Sales" does not exist');
  });
});

describe("duplicates and ordering", () => {
  it("applies a duplicated event once", async () => {
    // Prepare
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const created = event("user.created", { user: { ...alice, groups: ["Engineering"] } });

    // Act
    await pipeline.send(created, created, created);
    await pipeline.drain();
    await pipeline.send(created);
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.size).toBe(1);
    expect(pipeline.tallyfy.writes.filter((w) => w.path.endsWith("/invite"))).toHaveLength(1);
    expect(pipeline.tallyfy.writes.filter((w) => w.path.includes("/groups/"))).toHaveLength(1);
  });

  it("converges when a group event arrives before the event that creates the member", async () => {
    // Prepare
    const group = pipeline.tallyfy.addGroup({ name: "Engineering" });

    // Act
    await pipeline.send(
      event("group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    await pipeline.send(event("user.created", { user: alice }));
    await pipeline.drain();

    // Assess
    const member = pipeline.tallyfy.memberByEmail("alice@example.com");
    expect(pipeline.tallyfy.groups.get(group.id)?.members).toEqual([member?.id]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });
});

describe("faults", () => {
  it("rides out a 429 storm on writes, honouring Retry-After, and loses nothing", async () => {
    // Prepare
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.inject({ method: "POST", status: 429, times: 3, headers: { "Retry-After": "1" } });
    pipeline.tallyfy.inject({ method: "PUT", status: 429, times: 3, headers: { "Retry-After": "1" } });
    const users = ["a", "b", "c"].map((n) => ({
      email: `${n}@example.com`,
      firstName: n.toUpperCase(),
      lastName: "Test",
      groups: ["Engineering"],
    }));

    // Act
    await pipeline.send(...users.map((user) => event("user.created", { user })));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.size).toBe(3);
    expect(pipeline.tallyfy.groupByName("Engineering")?.members).toHaveLength(3);
    expect(pipeline.tallyfy.requests.filter((r) => r.status === 429)).toHaveLength(6);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("retries a write that failed with 5xx through SQS, re-reading first, and applies it once", async () => {
    // Prepare
    const member = pipeline.tallyfy.addMember({ email: "alice@example.com", role: "light" });
    pipeline.tallyfy.inject({ method: "PUT", path: /\/role$/, status: 503, times: 1 });

    // Act
    await pipeline.send(event("user.updated", { user: { email: "alice@example.com", role: "admin" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.get(member.id)?.role).toBe("admin");
    expect(pipeline.tallyfy.writes.map((w) => w.status)).toEqual([503, 200]);
    expect(totals(pipeline.tallies.apply)).toMatchObject({ retried: 1, applied: 1 });
  });

  it("dead-letters a write that keeps failing, with its reason, on the last allowed receive", async () => {
    // Prepare
    pipeline.tallyfy.addMember({ email: "alice@example.com", role: "light" });
    pipeline.tallyfy.inject({
      method: "PUT",
      status: 500,
      body: { message: "Attempt to read property capture on null" },
    });

    // Act
    await pipeline.send(event("user.updated", { user: { email: "alice@example.com", role: "admin" } }));
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("reconcile");
    expect(letters).toHaveLength(1);
    expect(letters[0]?.attributes).toMatchObject({ errorType: "TallyfyApiError", receiveCount: "3" });
    expect(letters[0]?.attributes.errorMessage).toContain(
      "HTTP 500: Attempt to read property capture on null",
    );
    expect(JSON.parse(letters[0]?.body ?? "{}")).toMatchObject({ kind: "person", key: "alice@example.com" });
  });

  it("dead-letters a permanent Tallyfy refusal at once", async () => {
    // Prepare
    pipeline.tallyfy.addMember({ email: "alice@example.com", role: "light" });
    pipeline.tallyfy.inject({
      method: "PUT",
      status: 409,
      body: { error: { code: "SEAT_POOL_EXHAUSTED", message: "No full seats left" } },
    });

    // Act
    await pipeline.send(event("user.updated", { user: { email: "alice@example.com", role: "admin" } }));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("reconcile");
    expect(letter?.attributes).toMatchObject({ errorType: "TallyfyApiError", receiveCount: "1" });
    expect(letter?.attributes.errorMessage).toContain("HTTP 409 SEAT_POOL_EXHAUSTED: No full seats left");
  });
});

describe("bad input", () => {
  it("dead-letters malformed and schema-violating messages with their reason while the rest of the batch applies", async () => {
    // Prepare
    const bad = [
      "{ not json",
      JSON.stringify({
        id: "evt-bad-type",
        type: "user.exploded",
        time: "2026-11-23T10:00:00Z",
        user: { email: "x@example.com" },
      }),
      JSON.stringify({
        id: "evt-bad-email",
        type: "user.updated",
        time: "2026-11-23T10:00:00Z",
        user: { email: "not-an-email" },
      }),
      JSON.stringify({
        id: "evt-masked",
        type: "user.updated",
        time: "2026-11-23T10:00:00Z",
        user: { email: "alice@example.com", phone: "********" },
      }),
      JSON.stringify({
        id: "evt-typo",
        type: "user.updated",
        time: "2026-11-23T10:00:00Z",
        user: { email: "alice@example.com", firstname: "Al" },
      }),
    ];

    // Act
    await pipeline.send(
      event("user.created", { user: alice }),
      ...bad,
      event("user.created", { user: { ...alice, email: "bob@example.com", firstName: "Bob" } }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.size).toBe(2);
    const letters = await pipeline.deadLetters("ingest");
    const reasons = Object.fromEntries(
      letters.map((l) => [l.attributes.eventId ?? "none", l.attributes.errorMessage]),
    );
    expect(letters.every((l) => l.attributes.errorType === "InvalidEventError")).toBe(true);
    expect(reasons).toEqual({
      none: "body is not valid JSON",
      "evt-bad-type": expect.stringContaining("type must be one of user.created"),
      "evt-bad-email": "invalid identity event: user.email: must be an email address",
      "evt-masked":
        "invalid identity event: user.phone: looks masked or a placeholder; refusing to write it to Tallyfy",
      "evt-typo": "invalid identity event: user: unknown key(s) firstname",
    });
    expect(letters.map((l) => l.body).sort()).toEqual([...bad].sort());
    expect(
      pipeline.tallyfy.members.get(pipeline.tallyfy.memberByEmail("alice@example.com")?.id ?? 0)?.phone,
    ).toBeNull();
  });

  it("dead-letters an invite that lacks the names Tallyfy requires", async () => {
    // Act
    await pipeline.send(event("user.created", { user: { email: "nameless@example.com" } }));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("reconcile");
    expect(letter?.attributes).toMatchObject({
      errorType: "CannotCreateError",
      errorMessage: "cannot invite nameless@example.com: Tallyfy needs firstName and lastName",
    });
  });
});

/** Replaces the shared pipeline with one on another configuration; afterEach stops it. */
async function restartWith(config: Record<string, unknown>): Promise<TestPipeline> {
  await pipeline.stop();
  pipeline = await startPipeline({ config: { memberDomains: ["example.com"], ...config } });
  return pipeline;
}
