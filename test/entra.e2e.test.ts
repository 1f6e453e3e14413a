/**
 * Microsoft Entra ID through Graph change notifications, end to end: the real webhook function on
 * loopback (as API Gateway calls it), the real subscription function, the real ingest handler
 * reading users from a fake Graph with a credential from a Secrets Manager stand-in, and the real
 * apply handler into the fake Tallyfy, whose final state is checked.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { entraSource } from "../handlers/sources/entra/index.js";
import { ENTRA, seedEntraTenant } from "../local/fakes/entra-tenant.js";
import { FakeGraph } from "../local/fakes/fake-graph.js";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { DEFAULT_TEST_CONFIG, totals } from "../local/pipeline.js";
import { sendEnvelope } from "../local/webhooks.js";
import { membersOf } from "./support/e2e.js";
import { useLocalSecretsManager } from "./support/secrets-manager.js";
import { useWebhookSource } from "./support/webhooks.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "msgraph");
const envelope = (name: string) => JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), "utf8"));
const SECRET_ID = "tallyfy-idp-sync/entra-test";
const CONFIG = { ...DEFAULT_TEST_CONFIG, entra: { tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95" } };

const secretsManager = useLocalSecretsManager();
let graph: FakeGraph;
const startWebhookSource = useWebhookSource();

beforeEach(async () => {
  graph = await FakeGraph.start();
  seedEntraTenant(graph);
  secretsManager().secrets.set(SECRET_ID, graph.secret);
});

afterEach(async () => {
  await graph.stop();
});

async function start(config: Record<string, unknown> = CONFIG) {
  const running = await startWebhookSource({
    source: entraSource,
    secret: ENTRA.clientState,
    path: "entra/notifications",
    environment: { ENTRA_SECRET_ID: SECRET_ID },
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
    guests: [...tallyfy.guests.values()].map((g) => g.email).sort(),
    groups: [...tallyfy.groups.values()].map((g) => ({ name: g.name, members: membersOf(tallyfy, g.name) })),
  };
}

describe("Graph webhook", () => {
  it("answers Graph's validation with the decoded token as text/plain, queueing nothing", async () => {
    // Prepare
    const { p, h } = await start();

    // Act
    const response = await fetch(
      `${h.url}?validationToken=${encodeURIComponent("Validation: Testing client & <reachability>")}`,
      {
        method: "POST",
      },
    );
    const text = await response.text();
    await p.drain();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(text).toBe("Validation: Testing client & <reachability>");
    expect(totals(p.tallies.ingest).received).toBe(0);
  });

  it("refuses and counts a notification whose clientState is not ours, and changes nobody", async () => {
    // Prepare
    const { p, h } = await start();
    const forged = envelope("user-updated");
    forged.body.value[0].clientState = "tallyfy-acme-GUESSED";
    const alice = graph.users.get(ENTRA.alice);
    if (alice) alice.accountEnabled = false;

    // Act
    const status = await sendEnvelope(h.url, forged);
    await p.drain();

    // Assess
    expect(status).toBe(403);
    expect(h.rejected).toEqual(["clientState does not match"]);
    expect(totals(p.tallies.ingest).received).toBe(0);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
  });

  it("refuses a notification that names no tenant when a tenant is configured, and accepts ours", async () => {
    // Prepare
    vi.stubEnv("ENTRA_TENANT_ID", graph.tenantId);
    const { p, h } = await start();
    const tenantless = envelope("user-updated");
    for (const item of tenantless.body.value) delete item.tenantId;
    const alice = graph.users.get(ENTRA.alice);
    if (alice) alice.accountEnabled = false;

    // Act
    const refused = await sendEnvelope(h.url, tenantless);
    await p.drain();
    const refusedStatus = p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status;
    const accepted = await sendEnvelope(h.url, envelope("user-updated"));
    await p.drain();
    vi.unstubAllEnvs();

    // Assess
    expect([refused, accepted]).toEqual([403, 202]);
    expect(h.rejected).toEqual(["a notification without a tenantId"]);
    expect(refusedStatus).toBe("active");
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("disabled");
  });

  it("refuses a body where one item of several is forged", async () => {
    // Prepare
    const { p, h } = await start();
    const mixed = envelope("user-updated");
    mixed.body.value.push({ ...mixed.body.value[0], clientState: "nope", resource: `Users/${ENTRA.bob}` });

    // Act
    const status = await sendEnvelope(h.url, mixed);
    await p.drain();

    // Assess
    expect(status).toBe(403);
    expect(totals(p.tallies.ingest).received).toBe(0);
  });
});

describe("Entra ID users", () => {
  it("applies the shared sample from the user Graph has now, with groups and the business phone", async () => {
    // Prepare
    const { p, h } = await start();

    // Act
    const status = await sendEnvelope(h.url, envelope("user-updated"));
    await p.drain();

    // Assess
    expect(status).toBe(202);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")).toMatchObject({
      first_name: "Alice",
      last_name: "Nguyen",
      job_title: "Operations Manager",
      team: "Customer Success",
      phone: "+1 312 555 0199",
      status: "active",
      role: "standard",
    });
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["alice.nguyen@example.com"]);
    expect(await p.deadLetters("ingest")).toEqual([]);
    // The queued body never holds the clientState.
    expect(graph.requests.map((r) => r.path.split("?")[0])).toContain(`/v1.0/users/${ENTRA.alice}`);
  });

  it("creates, disables, re-enables and deletes through subscriptions the subscription function made", async () => {
    // Prepare
    const { p, h } = await start();
    const report = await h.schedule();
    graph.addUser({
      id: "4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c",
      givenName: "Dana",
      surname: "Whitfield",
      mail: "dana.whitfield@example.com",
      userType: "Member",
      accountEnabled: true,
      businessPhones: [],
    });

    // Act
    await graph.notify("created", "Users/4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    await p.drain();
    const created = p.tallyfy.memberByEmail("dana.whitfield@example.com")?.status;
    const dana = graph.users.get("4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    if (dana) dana.accountEnabled = false;
    await graph.notify("updated", "Users/4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    await p.drain();
    const disabled = p.tallyfy.memberByEmail("dana.whitfield@example.com")?.status;
    if (dana) dana.accountEnabled = true;
    await graph.notify("updated", "Users/4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    await p.drain();
    const enabled = p.tallyfy.memberByEmail("dana.whitfield@example.com")?.status;
    graph.users.delete("4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    await graph.notify("deleted", "Users/4d0a3b5f-9e6c-4fb0-8d8b-5b4e3f2a1b0c");
    await p.drain();

    // Assess
    expect(report?.created).toHaveLength(2);
    expect([...graph.subscriptions.values()].map((s) => s.resource).sort()).toEqual(["/groups", "/users"]);
    expect(created).toBe("invited");
    expect(disabled).toBe("disabled");
    expect(enabled).not.toBe("disabled");
    expect(p.tallyfy.memberByEmail("dana.whitfield@example.com")?.status).toBe("disabled");
    expect(await p.deadLetters("ingest")).toEqual([]);
  });

  it("makes a Graph Guest a Tallyfy guest, never a member", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();

    // Act
    await graph.notify("created", `Users/${ENTRA.guest}`);
    await p.drain();

    // Assess
    expect([...p.tallyfy.guests.values()].map((g) => g.email)).toEqual(["gina@partner.example.org"]);
    expect(p.tallyfy.memberByEmail("gina@partner.example.org")).toBeUndefined();
  });

  it("never makes a user of userType Member a member when the email is outside memberDomains", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();
    graph.addUser({
      id: "5e1b4c6a-0f7d-4a1c-9e8b-6c5f4a3b2c1d",
      givenName: "Zed",
      surname: "Outside",
      mail: "zed@partner.example.org",
      userType: "Member",
      accountEnabled: true,
      businessPhones: [],
    });

    // Act
    await graph.notify("created", "Users/5e1b4c6a-0f7d-4a1c-9e8b-6c5f4a3b2c1d");
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("zed@partner.example.org")).toBeUndefined();
    expect(p.tallyfy.guests.get("zed@partner.example.org")).toBeDefined();
  });

  it("waits out Graph's 429 Retry-After and then reads the user", async () => {
    // Prepare
    const { p, h } = await start();
    graph.inject({
      path: new RegExp(`/users/${ENTRA.alice}$`),
      times: 1,
      status: 429,
      headers: { "Retry-After": "1" },
    });

    // Act
    const started = Date.now();
    await sendEnvelope(h.url, envelope("user-updated"));
    await p.drain();

    // Assess
    const reads = graph.requests.filter((r) => r.path.startsWith(`/v1.0/users/${ENTRA.alice}?`));
    expect(reads.map((r) => r.status)).toEqual([429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.job_title).toBe("Operations Manager");
  });

  it("converges when the same notifications arrive twice and in reverse order", async () => {
    // Prepare
    const once = await start();
    await once.h.schedule();
    const bob = graph.users.get(ENTRA.bob);
    graph.groups.get(ENTRA.engineering)?.members.add(ENTRA.bob);
    if (bob) bob.jobTitle = "Staff Engineer";
    const alice = graph.users.get(ENTRA.alice);
    if (alice) alice.accountEnabled = false;
    const sequence = [
      () => graph.notify("updated", `Users/${ENTRA.bob}`),
      () => graph.notify("updated", `Users/${ENTRA.alice}`),
      () => graph.notify("updated", `Groups/${ENTRA.engineering}`),
    ];
    for (const send of sequence) await send();
    await once.p.drain();
    const expected = stateOf(once.p.tallyfy);
    await once.h.stop();
    await once.p.stop();
    graph.subscriptions.clear();
    const twice = await start();
    await twice.h.schedule();

    // Act
    for (const send of [...sequence].reverse()) await send();
    for (const send of sequence) await send();
    await twice.p.drain();

    // Assess
    expect(stateOf(twice.p.tallyfy)).toEqual(expected);
    expect(expected.members.find((m) => m.email === "bob.okafor@example.com")).toMatchObject({
      job_title: "Staff Engineer",
    });
    expect(expected.members.find((m) => m.email === "alice.nguyen@example.com")?.status).toBe("disabled");
  });
});

describe("Entra ID groups", () => {
  it("applies a group's deletion only when Graph confirms the group is gone", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();
    const before = membersOf(p.tallyfy, "Engineering");

    // Act: a deletion notification (stale, or replayed) about a group Graph still has.
    await graph.notify("deleted", `Groups/${ENTRA.engineering}`);
    await p.drain();
    const kept = membersOf(p.tallyfy, "Engineering");
    graph.groups.delete(ENTRA.engineering);
    await graph.notify("deleted", `Groups/${ENTRA.engineering}`);
    await p.drain();

    // Assess
    expect(before).toEqual(["alice.nguyen@example.com"]);
    expect(kept).toEqual(before);
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([]);
  });

  it("reads again each member the delta query says was added or removed", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();
    const first = membersOf(p.tallyfy, "Engineering");

    // Act
    graph.groups.get(ENTRA.engineering)?.members.add(ENTRA.bob);
    graph.groups.get(ENTRA.engineering)?.members.delete(ENTRA.alice);
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();

    // Assess
    expect(first).toEqual(["alice.nguyen@example.com"]);
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["bob.okafor@example.com"]);
    const deltas = graph.requests.filter((r) => r.path.startsWith("/v1.0/groups/delta"));
    expect(deltas[0]?.path).toContain("$filter=id");
    expect(deltas[1]?.path).toContain("$deltatoken=");
  });

  it("ignores a group neither in scope nor mapped without a delta query", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();

    // Act
    await graph.notify("updated", `Groups/${ENTRA.outside}`);
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 1, ignored: 1 });
    expect(graph.requests.some((r) => r.path.startsWith("/v1.0/groups/delta"))).toBe(false);
  });

  it("takes a member out of Tallyfy when they leave the only group in scope", async () => {
    // Prepare
    const config = { ...CONFIG, entra: { ...CONFIG.entra, groups: ["Engineering"] } };
    const { p, h } = await start(config);
    await h.schedule();
    // The group's first notification sets the delta query's baseline (README "Microsoft Entra ID").
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();
    const before = p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status;

    // Act
    graph.groups.get(ENTRA.engineering)?.members.delete(ENTRA.alice);
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();

    // Assess
    expect(before).toBe("active");
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("disabled");
  });
});

describe("Graph subscriptions", () => {
  it("renews on reauthorizationRequired, re-creates on subscriptionRemoved, and reads everyone after missed", async () => {
    // Prepare
    const { p, h } = await start();
    await h.schedule();
    const [users] = [...graph.subscriptions.values()].filter((s) => s.resource === "/users");
    if (!users) throw new Error("no /users subscription");
    users.expirationDateTime = new Date(Date.now() + 3_600_000).toISOString();

    // Act
    const reauthorized = await graph.lifecycle(users.id, "reauthorizationRequired");
    await h.drainUpkeep();
    const renewedUntil = graph.subscriptions.get(users.id)?.expirationDateTime;
    await graph.lifecycle(users.id, "subscriptionRemoved");
    await h.drainUpkeep();
    const recreated = [...graph.subscriptions.values()].filter((s) => s.resource === "/users");
    await p.drain();
    const afterRemoval = totals(p.tallies.ingest).received;
    await graph.lifecycle(recreated[0]?.id ?? "", "missed");
    await p.drain();

    // Assess
    expect(reauthorized).toBe(202);
    expect(Date.parse(renewedUntil ?? "")).toBeGreaterThan(Date.now() + 6 * 24 * 3_600_000);
    expect(recreated).toHaveLength(1);
    expect(recreated[0]?.id).not.toBe(users.id);
    // The re-created subscription missed what happened meanwhile: every user was read again.
    expect(afterRemoval).toBeGreaterThan(3);
    expect(p.tallyfy.memberByEmail("bob.okafor@example.com")).toBeDefined();
    expect(h.reports.flatMap((r) => r.failed)).toEqual([]);
    expect(await p.directory.state("entra").get("subscription:/users")).toMatchObject({
      id: recreated[0]?.id,
    });
  });

  it("reports a subscription Graph refuses to create, for the alarm", async () => {
    // Prepare
    const { h } = await start();
    graph.inject({ path: /\/subscriptions$/, method: "POST", status: 403 });

    // Act
    const report = await h.schedule();

    // Assess: reported, counted for the alarm, and the scheduled message tried again.
    expect(report?.failed.join("; ")).toMatch(/\/users: .*HTTP 403/);
    expect(report?.failed).toHaveLength(2);
    expect(h.retried).toHaveLength(1);
  });
});
