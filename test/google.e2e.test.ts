/**
 * Google Workspace through Directory API push, end to end: the real webhook function on loopback
 * (headers and all, as API Gateway passes them), the real subscription function opening channels on
 * a fake Directory API whose token endpoint verifies the service account's signed JWT, the real
 * ingest handler reading users back, and the real apply handler into the fake Tallyfy.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { googleSource } from "../handlers/sources/google/index.js";
import { FakeGoogleDirectory } from "../local/fakes/fake-google-directory.js";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { GOOGLE, seedGoogleDirectory } from "../local/fakes/google-directory.js";
import { DEFAULT_TEST_CONFIG, totals } from "../local/pipeline.js";
import { sendEnvelope } from "../local/webhooks.js";
import { membersOf } from "./support/e2e.js";
import { useLocalSecretsManager } from "./support/secrets-manager.js";
import { useWebhookSource } from "./support/webhooks.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "google-directory-push");
const envelope = (name: string) => JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), "utf8"));
const SECRET_ID = "tallyfy-idp-sync/google-test";
const CONFIG = { ...DEFAULT_TEST_CONFIG, google: { timezoneField: "Tallyfy.timezone" } };

const secretsManager = useLocalSecretsManager();
let google: FakeGoogleDirectory;
const startWebhookSource = useWebhookSource();

beforeEach(async () => {
  google = await FakeGoogleDirectory.start();
  seedGoogleDirectory(google);
  secretsManager().secrets.set(SECRET_ID, google.secret);
});

afterEach(async () => {
  await google.stop();
});

async function start(config: Record<string, unknown> = CONFIG) {
  const running = await startWebhookSource({
    source: googleSource,
    secret: GOOGLE.token,
    path: "google/push",
    environment: { GOOGLE_SECRET_ID: SECRET_ID },
    config,
  });
  running.p.tallyfy.addMember({
    email: "alice.nguyen@example.com",
    first_name: "Alice",
    last_name: "Nguyen",
  });
  return running;
}

function stateOf(tallyfy: FakeTallyfy) {
  return {
    members: [...tallyfy.members.values()]
      .map(({ id: _id, updated_at: _updated, ...member }) => member)
      .sort((a, b) => a.email.localeCompare(b.email)),
    groups: [...tallyfy.groups.values()].map((g) => ({ name: g.name, members: membersOf(tallyfy, g.name) })),
  };
}

describe("Google push webhook", () => {
  it("applies the shared sample from users.get, with the time zone from a custom schema", async () => {
    // Prepare
    const { p, h } = await start();

    // Act
    const status = await sendEnvelope(h.url, envelope("user-update"));
    await p.drain();

    // Assess
    expect(status).toBe(200);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")).toMatchObject({
      first_name: "Alicia",
      last_name: "Nguyen-Park",
      job_title: "Operations Manager",
      team: "Customer Success",
      phone: "+1 312 555 0199",
      timezone: "America/Chicago",
      status: "active",
    });
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["alice.nguyen@example.com"]);
    expect(google.requests.map((r) => r.path.split("?")[0])).toEqual([
      `/admin/directory/v1/users/${GOOGLE.alice}`,
      "/admin/directory/v1/groups",
    ]);
    expect(google.refusedTokens).toEqual([]);
  });

  it("refuses and counts a push whose channel token is not ours, and changes nobody", async () => {
    // Prepare
    const { p, h } = await start();
    const forged = envelope("user-update");
    forged.headers["X-Goog-Channel-Token"] = "tenant=acme;secret=GUESSED";
    forged.headers["X-Goog-Resource-State"] = "delete";
    google.users.delete(GOOGLE.alice);

    // Act
    const status = await sendEnvelope(h.url, forged);
    await p.drain();

    // Assess
    expect(status).toBe(403);
    expect(h.rejected).toEqual(["X-Goog-Channel-Token does not match"]);
    expect(totals(p.tallies.ingest).received).toBe(0);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
  });

  it("acknowledges each new channel's sync message and queues nothing for it", async () => {
    // Prepare
    const { p, h } = await start();

    // Act
    const report = await h.schedule();
    await p.drain();

    // Assess
    expect(report?.created).toHaveLength(5);
    expect(
      google
        .openChannels()
        .map((c) => c.event)
        .sort(),
    ).toEqual(["add", "delete", "makeAdmin", "undelete", "update"]);
    expect(google.openChannels().every((c) => c.messageNumber === 1 && c.token === GOOGLE.token)).toBe(true);
    expect(totals(p.tallies.ingest).received).toBe(0);
  });
});

describe("Google Workspace users", () => {
  it("adds, suspends, restores, deletes and undeletes a user through the channels", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();
    const bob = { id: GOOGLE.bob, primaryEmail: "bob.okafor@example.com" };
    const record = google.users.get(GOOGLE.bob);

    // Act
    await google.push("add", bob);
    await p.drain();
    const added = p.tallyfy.memberByEmail(bob.primaryEmail)?.status;
    if (record) record.suspended = true;
    await google.push("update", bob);
    await p.drain();
    const suspended = p.tallyfy.memberByEmail(bob.primaryEmail)?.status;
    if (record) record.suspended = false;
    await google.push("update", bob);
    await p.drain();
    const restored = p.tallyfy.memberByEmail(bob.primaryEmail)?.status;
    google.users.delete(GOOGLE.bob);
    await google.push("delete", bob);
    await p.drain();
    const deleted = p.tallyfy.memberByEmail(bob.primaryEmail)?.status;
    if (record) google.addUser(record as never);
    await google.push("undelete", bob);
    await p.drain();

    // Assess
    expect(added).toBe("invited");
    expect(suspended).toBe("disabled");
    expect(restored).not.toBe("disabled");
    expect(deleted).toBe("disabled");
    expect(p.tallyfy.memberByEmail(bob.primaryEmail)?.status).not.toBe("disabled");
    expect(await p.deadLetters("ingest")).toEqual([]);
  });

  it("never deactivates anyone from a delete push for a user this sync never provisioned", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();

    // Act
    await google.push("delete", { id: "999999999999999999999", primaryEmail: "alice.nguyen@example.com" });
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 1, ignored: 1 });
  });

  it("makes a Google super admin a Tallyfy admin only when adminRole says so", async () => {
    // Prepare
    const { p, h } = await start({ ...CONFIG, google: { ...CONFIG.google, adminRole: "admin" } });
    await h.schedule();

    // Act
    await google.push("makeAdmin", { id: GOOGLE.carol, primaryEmail: "carol.diaz@example.com" });
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("carol.diaz@example.com")?.role).toBe("admin");
  });

  it("keeps a Google super admin a standard member by default", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();

    // Act
    await google.push("makeAdmin", { id: GOOGLE.carol, primaryEmail: "carol.diaz@example.com" });
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("carol.diaz@example.com")?.role).toBe("standard");
  });

  it("waits out a 429 and then reads the user", async () => {
    // Prepare
    const { p, h } = await start();
    google.inject({
      path: new RegExp(`/users/${GOOGLE.alice}$`),
      times: 1,
      status: 429,
      headers: { "Retry-After": "1" },
    });

    // Act
    await sendEnvelope(h.url, envelope("user-update"));
    await p.drain();

    // Assess
    const reads = google.requests.filter((r) =>
      r.path.startsWith(`/admin/directory/v1/users/${GOOGLE.alice}`),
    );
    expect(reads.map((r) => r.status)).toEqual([429, 200]);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.first_name).toBe("Alicia");
  });

  it("converges when the same pushes arrive twice and in reverse order", async () => {
    // Prepare
    const once = await start();
    await once.h.schedule();
    const bob = { id: GOOGLE.bob, primaryEmail: "bob.okafor@example.com" };
    const alice = { id: GOOGLE.alice, primaryEmail: "alice.nguyen@example.com" };
    google.groups.get("03x8tuzt1bq0pzb")?.members.add(GOOGLE.bob);
    const record = google.users.get(GOOGLE.alice);
    if (record) record.suspended = true;
    const sequence = [
      () => google.push("add", bob),
      () => google.push("update", alice),
      () => google.push("update", bob),
    ];
    for (const send of sequence) await send();
    await once.p.drain();
    const expected = stateOf(once.p.tallyfy);
    await once.h.stop();
    await once.p.stop();
    for (const channel of google.openChannels()) channel.stopped = true;
    const twice = await start();
    await twice.h.schedule();

    // Act
    for (const send of [...sequence].reverse()) await send();
    for (const send of sequence) await send();
    await twice.p.drain();

    // Assess
    expect(stateOf(twice.p.tallyfy)).toEqual(expected);
    expect(expected.members.find((m) => m.email === "alice.nguyen@example.com")?.status).toBe("disabled");
    expect(expected.groups.find((g) => g.name === "Engineering")?.members).toEqual([
      "bob.okafor@example.com",
    ]);
  });
});

describe("Google channels", () => {
  it("re-creates a channel before it expires and stops the old one once the new one is open", async () => {
    // Prepare
    const { h, p } = await start();
    await h.schedule();
    const state = p.directory.state("google");
    const old = (await state.get("channel:update")) as { id: string; resourceId: string; expiration: number };
    await state.put("channel:update", { ...old, expiration: Date.now() + 30 * 60_000 });

    // Act
    const report = await h.schedule();

    // Assess
    expect(report?.renewed).toHaveLength(1);
    expect(report?.stopped).toEqual([`update ${old.id}`]);
    expect(google.channels.get(old.id)?.stopped).toBe(true);
    expect(google.openChannels().filter((c) => c.event === "update")).toHaveLength(1);
    expect(google.openChannels()).toHaveLength(5);
  });

  it("reads every user again after a channel lapsed, and reports a channel Google refuses", async () => {
    // Prepare
    const { h, p } = await start();
    await h.schedule();
    const state = p.directory.state("google");
    const old = (await state.get("channel:delete")) as { id: string; resourceId: string; expiration: number };
    await state.put("channel:delete", { ...old, expiration: Date.now() - 60_000 });
    const oldAdd = (await state.get("channel:add")) as { id: string; resourceId: string; expiration: number };
    await state.put("channel:add", { ...oldAdd, expiration: Date.now() + 60_000 });
    google.inject({ path: /\/users\/watch$/, times: 1, status: 403 });

    // Act
    const report = await h.schedule();
    await p.drain();

    // Assess
    expect(report?.failed.join("; ")).toMatch(/add: .*HTTP 403/);
    expect(h.retried).toHaveLength(1);
    expect(h.reports.at(-1)?.renewed).toHaveLength(1);
    expect(p.tallyfy.memberByEmail("carol.diaz@example.com")).toBeDefined();
    expect(p.tallyfy.memberByEmail("bob.okafor@example.com")).toBeDefined();
  });

  it("refuses a service account acting for someone else: the token endpoint checks the signed JWT", async () => {
    // Prepare
    secretsManager().secrets.set(
      SECRET_ID,
      JSON.stringify({ ...JSON.parse(google.secret), subject: "intern@example.com" }),
    );
    const { p, h } = await start();

    // Act
    await sendEnvelope(h.url, envelope("user-update"));
    await p.drain();

    // Assess
    expect(google.refusedTokens).toContain("sub");
    const [letter] = await p.deadLetters("ingest");
    expect(letter?.errorType).toBe("GoogleCredentialsError");
    expect(JSON.stringify(letter)).not.toContain("PRIVATE KEY");
    expect(JSON.stringify(letter)).not.toContain(GOOGLE.token);
  });
});
