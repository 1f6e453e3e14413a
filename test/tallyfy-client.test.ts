import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  TallyfyApiError,
  TallyfyAuthError,
  TallyfyDeadlineError,
  TallyfyNetworkError,
  TallyfyRateLimitError,
  TallyfyTimeoutError,
} from "../handlers/tallyfy/errors.js";
import { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { failure } from "./support/failure.js";
import { clientFor } from "./support/tallyfy-client.js";

let fake: FakeTallyfy;

beforeEach(async () => {
  fake = await FakeTallyfy.start();
});

afterEach(async () => {
  await fake.stop();
});

/** Awaits a promise expected to reject and returns the reason. */
describe("members", () => {
  it("lists every member over several pages, stopping at the last", async () => {
    // Prepare
    for (let i = 0; i < 250; i++) fake.addMember({ email: `m${i}@example.com` });
    const { client } = clientFor(fake);

    // Act
    const members = await client.members.list();

    // Assess
    expect(members).toHaveLength(250);
    expect(new Set(members.map((m) => m.id)).size).toBe(250);
    const pages = fake.requests.map((r) => [r.query.get("page"), r.query.get("per_page")]);
    expect(pages).toEqual([
      ["1", "100"],
      ["2", "100"],
      ["3", "100"],
    ]);
  });

  it("normalises role casing and reads the 2026 and the legacy field names alike", async () => {
    // Prepare
    fake.addMember({ email: "a@example.com", role: "admin", status: "active" });
    const { client } = clientFor(fake);

    // Act
    const current = await client.members.list();
    fake.legacyFields = true;
    const legacy = await client.members.list();

    // Assess
    for (const [member] of [current, legacy]) {
      expect(member).toMatchObject({
        email: "a@example.com",
        role: "admin",
        status: "active",
        isActive: true,
      });
      expect(member?.updatedAt).toMatch(/^\d{4}-/);
    }
  });

  it("finds a member by email whatever the casing, falling back to the full list when q misses", async () => {
    // Prepare
    const alice = fake.addMember({ email: "Alice.Ng@Example.com" });
    fake.addMember({ email: "bob@example.com" });
    const { client } = clientFor(fake);

    // Act
    const exact = await client.members.findByEmail("Alice.Ng@Example.com");
    const requestsForExact = fake.requests.length;
    const otherCase = await client.members.findByEmail("alice.ng@EXAMPLE.COM");
    const missing = await client.members.findByEmail("nobody@example.com");

    // Assess
    expect(exact?.id).toBe(alice.id);
    expect(requestsForExact).toBe(1);
    expect(otherCase?.id).toBe(alice.id);
    expect(fake.requests[1]?.query.get("q")).toBe("alice.ng@EXAMPLE.COM");
    expect(fake.requests[2]?.query.get("q")).toBeNull();
    expect(missing).toBeUndefined();
  });

  it("gets, updates the profile with the required fields, and changes the role", async () => {
    // Prepare
    const member = fake.addMember({ email: "c@example.com", team: "Old" });
    const { client } = clientFor(fake);

    // Act
    const got = await client.members.get(member.id);
    const updated = await client.members.updateProfile(member.id, {
      firstName: "Cara",
      lastName: "Diaz",
      timezone: "Europe/London",
      jobTitle: "Engineer",
    });
    const promoted = await client.members.updateRole(member.id, "admin");

    // Assess
    expect(got.email).toBe("c@example.com");
    expect(updated).toMatchObject({ firstName: "Cara", jobTitle: "Engineer", team: "Old" });
    expect(promoted?.role).toBe("admin");
    expect(fake.members.get(member.id)).toMatchObject({
      first_name: "Cara",
      timezone: "Europe/London",
      role: "admin",
      team: "Old",
    });
    expect(fake.requests[1]?.body).toMatchObject({
      first_name: "Cara",
      last_name: "Diaz",
      timezone: "Europe/London",
    });
  });

  it("reports Tallyfy's field errors when a profile PUT lacks a required field", async () => {
    // Prepare
    const member = fake.addMember({ email: "d@example.com" });
    const { client } = clientFor(fake);

    // Act
    const error = await failure(
      client.members.updateProfile(member.id, { firstName: "D", lastName: "E", timezone: "" }),
    );

    // Assess
    expect(error).toBeInstanceOf(TallyfyApiError);
    expect(error).toMatchObject({ status: 422, transient: false });
    expect((error as Error).message).toContain("timezone: The timezone field is required.");
    expect((error as Error).message).toContain("The given data was invalid.");
  });

  it("invites a new member and gets a permanent 422 for an existing one", async () => {
    // Prepare
    const { client } = clientFor(fake);
    const invite = {
      email: "new@example.com",
      firstName: "New",
      lastName: "Person",
      role: "light" as const,
      message: "Hi",
    };

    // Act
    const invited = await client.members.invite(invite);
    const again = await failure(client.members.invite(invite));

    // Assess
    expect(invited).toMatchObject({ email: "new@example.com", status: "invited", role: "light" });
    expect(again).toMatchObject({ status: 422, transient: false });
    expect((again as Error).message).toContain("email: The email has already been taken.");
  });

  it("disables, enables and removes a member", async () => {
    // Prepare
    const member = fake.addMember({ email: "e@example.com" });
    const leaver = fake.addMember({ email: "f@example.com" });
    const { client } = clientFor(fake);

    // Act
    await client.members.disable(member.id);
    const disabled = fake.members.get(member.id)?.status;
    await client.members.enable(member.id);
    await client.members.remove(leaver.id, member.id);

    // Assess
    expect(disabled).toBe("disabled");
    expect(fake.members.get(member.id)?.status).toBe("active");
    expect(fake.members.has(leaver.id)).toBe(false);
    const removal = fake.requests.at(-1);
    expect(removal).toMatchObject({ method: "DELETE", path: `/organizations/org-fake/users/${leaver.id}` });
    expect(removal?.query.get("to")).toBe(String(member.id));
  });
});

describe("groups", () => {
  it("lists every group over several pages of at most 100", async () => {
    // Prepare
    for (let i = 0; i < 120; i++) fake.addGroup({ name: `Group ${i}` });
    const { client } = clientFor(fake);

    // Act
    const groups = await client.groups.list();

    // Assess
    expect(groups).toHaveLength(120);
    expect(fake.requests).toHaveLength(2);
  });

  it("creates, finds by name ignoring case, replaces lists whole on update, and deletes with a 204", async () => {
    // Prepare
    const a = fake.addMember({ email: "a@example.com" });
    const b = fake.addMember({ email: "b@example.com" });
    const { client } = clientFor(fake);

    // Act
    const created = await client.groups.create({
      name: "Engineering",
      description: "Builders",
      members: [a.id, b.id],
    });
    const found = await client.groups.findByName("  engineering ");
    const updated = await client.groups.update(created?.id ?? "", {
      name: "Engineering",
      description: "Builders",
      members: [b.id],
    });
    const got = await client.groups.get(created?.id ?? "");
    await client.groups.delete(created?.id ?? "");

    // Assess
    expect(found?.id).toBe(created?.id);
    expect(updated?.members).toEqual([b.id]);
    expect(got).toMatchObject({ name: "Engineering", description: "Builders", members: [b.id], guests: [] });
    expect(fake.groups.size).toBe(0);
    expect(fake.requests.map((r) => r.status)).toEqual([201, 200, 201, 200, 204]);
  });

  it("always sends name and description, which Tallyfy requires on a group PUT", async () => {
    // Prepare
    const group = fake.addGroup({ name: "Ops", description: "Keeps things up" });
    const { client } = clientFor(fake);

    // Act
    await client.groups.update(group.id, {
      name: "Ops",
      description: "Keeps things up",
      guests: ["g@partner.io"],
    });

    // Assess
    expect(fake.requests[0]?.body).toEqual({
      name: "Ops",
      description: "Keeps things up",
      guests: ["g@partner.io"],
    });
  });
});

describe("guests", () => {
  it("creates with phone_1, reads the odd 201, and sends no profile fields on update", async () => {
    // Prepare
    const member = fake.addMember({ email: "owner@example.com" });
    const { client } = clientFor(fake);

    // Act
    const created = await client.guests.create({
      email: "Guest@Partner.io",
      firstName: "Gus",
      phone: "+1 555 0100",
    });
    const got = await client.guests.get("guest@partner.io");
    await client.guests.update("Guest@Partner.io", [member.id]);
    const listed = await client.guests.list();
    const found = await client.guests.findByEmail("GUEST@partner.io");

    // Assess
    expect(created).toMatchObject({ email: "Guest@Partner.io", firstName: "Gus", phone: "+1 555 0100" });
    expect(got.associatedMembers).toEqual([]);
    expect(fake.requests[2]?.body).toEqual({ email: "Guest@Partner.io", associated_members: [member.id] });
    expect(fake.requests[2]?.path).toBe("/organizations/org-fake/guests/Guest%40Partner.io");
    expect(listed[0]?.associatedMembers).toEqual([member.id]);
    expect(found?.email).toBe("Guest@Partner.io");
  });

  it("disables and enables a guest", async () => {
    // Prepare
    fake.addGuest({ email: "g@partner.io" });
    const { client } = clientFor(fake);

    // Act
    await client.guests.disable("g@partner.io");
    const disabled = (await client.guests.get("g@partner.io")).disabled;
    await client.guests.enable("g@partner.io");

    // Assess
    expect(disabled).toBe(true);
    expect((await client.guests.get("g@partner.io")).disabled).toBe(false);
  });

  it("treats Tallyfy's 422 for deleting an unknown guest as already gone", async () => {
    // Prepare
    fake.addGuest({ email: "g@partner.io" });
    const { client } = clientFor(fake);

    // Act
    const first = await client.guests.delete("g@partner.io");
    const second = await client.guests.delete("g@partner.io");

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 422]);
  });
});

describe("headers", () => {
  it("sends the three required headers on every call and Content-Type only with a body", async () => {
    // Prepare
    const member = fake.addMember({ email: "h@example.com" });
    const { client } = clientFor(fake);

    // Act
    await client.members.get(member.id);
    await client.members.updateRole(member.id, "light");

    // Assess
    for (const request of fake.requests) {
      expect(request.headers).toMatchObject({
        authorization: "Bearer test-token",
        accept: "application/json",
        "x-tallyfy-client": "APIClient",
      });
    }
    expect(fake.requests[0]?.headers["content-type"]).toBeUndefined();
    expect(fake.requests[1]?.headers["content-type"]).toBe("application/json");
  });
});

describe("errors", () => {
  it.each([
    [
      "nested 409",
      409,
      {
        error: { code: "SEAT_POOL_EXHAUSTED", message: "No full seats left", details: { pool_type: "full" } },
      },
      "HTTP 409 SEAT_POOL_EXHAUSTED: No full seats left",
    ],
    [
      "docs-style 422",
      422,
      { error: true, errors: { role: ["The selected role is invalid."] } },
      "HTTP 422 (role: The selected role is invalid.)",
    ],
    [
      "nested field errors",
      422,
      { errors: { profile: { name: "too long" } } },
      "HTTP 422 (profile.name: too long)",
    ],
    [
      "404 resource",
      404,
      { error: true, message: "Resource not found", code: "RESOURCE_NOT_FOUND" },
      "HTTP 404 RESOURCE_NOT_FOUND: Resource not found",
    ],
    [
      "403 business rule",
      403,
      { message: "Cannot disable guest with incomplete tasks" },
      "HTTP 403: Cannot disable guest with incomplete tasks",
    ],
    [
      "400 with error flag",
      400,
      { error: true, message: "Cannot modify the default administrator." },
      "HTTP 400: Cannot modify the default administrator.",
    ],
  ])(
    "turns a %s body into a permanent error that says what Tallyfy said",
    async (_name, status, body, expected) => {
      // Prepare
      const member = fake.addMember({ email: "x@example.com" });
      fake.inject({ method: "PUT", status, body });
      const { client } = clientFor(fake);

      // Act
      const error = await failure(client.members.updateRole(member.id, "admin"));

      // Assess
      expect(error).toBeInstanceOf(TallyfyApiError);
      expect(error).toMatchObject({ status, transient: false, operation: "members.updateRole" });
      expect((error as Error).message).toBe(`Tallyfy members.updateRole: ${expected}`);
    },
  );

  it("clips a 5xx body that leaks server internals and keeps the request id", async () => {
    // Prepare
    fake.inject({
      method: "PUT",
      status: 500,
      body: { message: `SQLSTATE[42S22] ${"x".repeat(1000)}` },
      headers: { "X-Request-Id": "req-7" },
    });
    const member = fake.addMember({ email: "x@example.com" });
    const { client } = clientFor(fake);

    // Act
    const error = await failure(client.members.updateRole(member.id, "admin"));

    // Assess
    expect(error).toMatchObject({ status: 500, transient: true });
    expect((error as Error).message.length).toBeLessThan(420);
    expect((error as Error).message).toContain("[request req-7]");
  });
});

describe("retries", () => {
  it("waits for Retry-After on a 429 and then succeeds, also for a write", async () => {
    // Prepare
    const member = fake.addMember({ email: "r@example.com" });
    fake.inject({ method: "PUT", status: 429, times: 1, headers: { "Retry-After": "2" } });
    const { client, sleeps } = clientFor(fake);

    // Act
    const updated = await client.members.updateRole(member.id, "admin");

    // Assess
    expect(updated?.role).toBe("admin");
    expect(sleeps).toEqual([2000]);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("holds every concurrent request back for one 429's Retry-After, so only one is refused", async () => {
    // Prepare
    fake.setRateLimit({ limit: 2, windowMs: 1_000 });
    const { client } = clientFor(fake, { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    await Promise.all([client.members.list(), client.members.list()]);

    // Act
    const refused = client.members.list();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([refused, client.members.list()]);

    // Assess
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 429, 200, 200]);
  });

  it("reads Retry-After given as an HTTP date", async () => {
    // Prepare
    const now = Date.parse("2026-11-23T10:00:00Z");
    fake.inject({ status: 429, times: 1, headers: { "Retry-After": "Mon, 23 Nov 2026 10:00:03 GMT" } });
    const { client, sleeps } = clientFor(fake, { now: () => now });

    // Act
    await client.members.list();

    // Assess
    expect(sleeps).toEqual([3000]);
  });

  it("backs off exponentially with jitter when a 429 has no Retry-After, and stops after the retry budget", async () => {
    // Prepare
    fake.inject({ status: 429 });
    const { client, sleeps } = clientFor(fake, { random: () => 1 });

    // Act
    const error = await failure(client.members.list());

    // Assess
    expect(error).toBeInstanceOf(TallyfyRateLimitError);
    expect(error).toMatchObject({ transient: true, retryAfterMs: undefined });
    expect(sleeps).toEqual([600, 1200, 2400, 4800]);
    expect(fake.requests).toHaveLength(5);
  });

  it("hands a Retry-After longer than the cap straight back instead of sleeping through it", async () => {
    // Prepare
    fake.inject({ status: 429, headers: { "Retry-After": "120" } });
    const { client, sleeps } = clientFor(fake);

    // Act
    const error = await failure(client.members.list());

    // Assess
    expect(error).toMatchObject({ retryAfterMs: 120_000, transient: true });
    expect(sleeps).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it("retries a read on 5xx and on a dropped connection", async () => {
    // Prepare
    fake.addMember({ email: "s@example.com" });
    fake.inject({ method: "GET", status: 503, times: 1 });
    fake.inject({ method: "GET", dropConnection: true, times: 1 });
    const { client } = clientFor(fake);

    // Act
    const members = await client.members.list();

    // Assess
    expect(members).toHaveLength(1);
    expect(fake.requests.map((r) => r.status)).toEqual([503, -1, 200]);
  });

  it("never retries a write on 5xx, because the write may have run", async () => {
    // Prepare
    const member = fake.addMember({ email: "w@example.com" });
    fake.inject({ method: "PUT", status: 502, afterApply: true });
    const { client } = clientFor(fake);

    // Act
    const error = await failure(client.members.updateRole(member.id, "admin"));

    // Assess
    expect(error).toMatchObject({ status: 502, transient: true });
    expect(fake.writes).toHaveLength(1);
    expect(fake.members.get(member.id)?.role).toBe("admin");
  });

  it("never retries a write whose connection dropped", async () => {
    // Prepare
    const member = fake.addMember({ email: "w@example.com" });
    fake.inject({ method: "PUT", dropConnection: true });
    const { client } = clientFor(fake);

    // Act
    const error = await failure(client.members.updateRole(member.id, "admin"));

    // Assess
    expect(error).toBeInstanceOf(TallyfyNetworkError);
    expect(fake.writes).toHaveLength(1);
  });

  it("times out a slow answer and reports it as transient", async () => {
    // Prepare
    const member = fake.addMember({ email: "t@example.com" });
    fake.inject({ method: "PUT", delayMs: 1_000, status: 200 });
    const { client } = clientFor(fake, { timeoutMs: 100 });

    // Act
    const error = await failure(client.members.updateRole(member.id, "admin"));

    // Assess
    expect(error).toBeInstanceOf(TallyfyTimeoutError);
    expect(error).toMatchObject({ transient: true });
  });
});

describe("deadline", () => {
  it("starts no request once the deadline has passed", async () => {
    // Prepare
    const { client } = clientFor(fake);

    // Act
    const error = await failure(client.members.list({ deadline: Date.now() - 1 }));

    // Assess
    expect(error).toBeInstanceOf(TallyfyDeadlineError);
    expect(fake.requests).toHaveLength(0);
  });

  it("does not wait out a Retry-After that would end past the deadline", async () => {
    // Prepare
    fake.inject({ status: 429, headers: { "Retry-After": "10" } });
    const { client, sleeps } = clientFor(fake);

    // Act
    const error = await failure(client.members.list({ deadline: Date.now() + 2_000 }));

    // Assess
    expect(error).toBeInstanceOf(TallyfyRateLimitError);
    expect(sleeps).toEqual([]);
  });

  it("shortens the request timeout to the time left before the deadline", async () => {
    // Prepare
    fake.inject({ method: "GET", delayMs: 3_000, status: 200 });
    const { client } = clientFor(fake, { timeoutMs: 30_000, retry: { maxRetries: 0 } });
    const started = Date.now();

    // Act
    const error = await failure(client.members.list({ deadline: started + 600 }));

    // Assess
    expect(error).toBeInstanceOf(TallyfyTimeoutError);
    // The timeout it used, not how long the busy host took: at most the 600 ms left, not 30 s.
    const usedMs = Number(/no answer within (\d+) ms/.exec((error as Error).message)?.[1]);
    expect(usedMs).toBeGreaterThan(0);
    expect(usedMs).toBeLessThanOrEqual(600);
  });
});

describe("authentication", () => {
  it("asks the token source for a fresh token once after a 401, then fails with a permanent auth error", async () => {
    // Prepare
    const member = fake.addMember({ email: "u@example.com" });
    const issued = ["stale-token", "fresh-token"];
    let refreshes = 0;
    fake.acceptToken("fresh-token");
    const tokens = {
      getToken: async () => issued[Math.min(refreshes, issued.length - 1)] ?? "",
      refresh: () => {
        refreshes++;
      },
    };
    const { client } = clientFor(fake, { tokens });

    // Act
    const got = await client.members.get(member.id);
    fake.expireToken("fresh-token");
    const error = await failure(client.members.get(member.id));

    // Assess
    expect(got.id).toBe(member.id);
    expect(error).toBeInstanceOf(TallyfyAuthError);
    expect(error).toMatchObject({ status: 401, transient: false });
    expect(refreshes).toBe(2);
    expect(fake.requests.map((r) => r.status)).toEqual([401, 200, 401, 401]);
  });

  it("is refused by Tallyfy without the X-Tallyfy-Client header", async () => {
    // Prepare
    const { client } = clientFor(fake, {
      fetch: (input, init) => {
        const headers = { ...(init?.headers as Record<string, string>) };
        delete headers["X-Tallyfy-Client"];
        return fetch(input, { ...init, headers });
      },
    });

    // Act
    const error = await failure(client.members.list());

    // Assess
    expect(error).toBeInstanceOf(TallyfyAuthError);
  });
});
