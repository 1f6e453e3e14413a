/**
 * Entra ID change notifications and Google Workspace Directory push lose no departure and keep no
 * privilege, end to end.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AnyIdentitySource } from "../../handlers/core/source.js";
import { entraSource } from "../../handlers/sources/entra/index.js";
import { googleSource } from "../../handlers/sources/google/index.js";
import { ENTRA, seedEntraTenant } from "../../local/fakes/entra-tenant.js";
import { FakeGoogleDirectory } from "../../local/fakes/fake-google-directory.js";
import { FakeGraph } from "../../local/fakes/fake-graph.js";
import { GOOGLE, seedGoogleDirectory } from "../../local/fakes/google-directory.js";
import { localFullSync } from "../../local/full-sync.js";
import { DEFAULT_TEST_CONFIG, type TestPipeline } from "../../local/pipeline.js";
import { membersOf } from "../support/e2e.js";
import { useLocalSecretsManager } from "../support/secrets-manager.js";
import { useWebhookSource } from "../support/webhooks.js";

const ENTRA_SECRET_ID = "tallyfy-idp-sync/entra-attack";
const GOOGLE_SECRET_ID = "tallyfy-idp-sync/google-attack";
const ENTRA_CONFIG = { ...DEFAULT_TEST_CONFIG, entra: { tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95" } };
const GOOGLE_CONFIG = { ...DEFAULT_TEST_CONFIG, google: {} };

const secretsManager = useLocalSecretsManager();
let graph: FakeGraph;
let google: FakeGoogleDirectory;
const startWebhookSource = useWebhookSource();

beforeEach(async () => {
  graph = await FakeGraph.start();
  seedEntraTenant(graph);
  secretsManager().secrets.set(ENTRA_SECRET_ID, graph.secret);
  google = await FakeGoogleDirectory.start();
  seedGoogleDirectory(google);
  secretsManager().secrets.set(GOOGLE_SECRET_ID, google.secret);
});

afterEach(async () => {
  await graph.stop();
  await google.stop();
});

function startEntra(config: Record<string, unknown> = ENTRA_CONFIG) {
  const environment = { ENTRA_SECRET_ID };
  return startWebhookSource({
    source: entraSource,
    secret: ENTRA.clientState,
    path: "entra/notifications",
    environment,
    config,
  });
}

function startGoogle(config: Record<string, unknown> = GOOGLE_CONFIG) {
  const environment = { GOOGLE_SECRET_ID };
  return startWebhookSource({
    source: googleSource,
    secret: GOOGLE.token,
    path: "google/push",
    environment,
    config,
  });
}

/**
 * The safety net for what a feed cannot say: a full reconciliation listing the source (here with a
 * share limit that lets one departure through in these small tenants).
 */
async function fullReconciliation(
  p: TestPipeline,
  config: Record<string, unknown>,
  source: AnyIdentitySource,
  maxDepartureShare = 0.5,
) {
  const environment = { ...process.env, ENTRA_SECRET_ID, GOOGLE_SECRET_ID };
  const connection = source.connect?.({
    variables: environment,
    onResponse: () => {},
  });
  const run = await localFullSync(p, {
    config,
    sources: [source],
    connections: { [source.id]: connection },
    maxDepartureShare,
  });
  await run.run();
  await p.drain();
  return run.lastReport();
}

describe("Entra: a departure during a notification gap", () => {
  it("deactivates a provisioned user deleted in Entra while notifications were missed, at the next full reconciliation", async () => {
    // Prepare: Bob is provisioned through a notification; then Entra deletes him, and Graph's
    // notification about it is lost (Graph says so with a `missed` lifecycle notification).
    const { p, h } = await startEntra();
    await h.schedule();
    await graph.notify("created", `Users/${ENTRA.bob}`);
    await p.drain();
    const provisioned = p.tallyfy.memberByEmail("bob.okafor@example.com")?.status;
    graph.users.delete(ENTRA.bob);
    const [users] = [...graph.subscriptions.values()].filter((s) => s.resource === "/users");

    // Act: Graph tells us notifications were missed, and the feed re-reads the users Graph still
    // has; Bob is not among them, and only a listing compared with whom the directory manages can
    // tell he is gone: the full reconciliation.
    await graph.lifecycle(users?.id ?? "", "missed");
    await p.drain();
    const afterMissed = p.tallyfy.memberByEmail("bob.okafor@example.com")?.status;
    const report = await fullReconciliation(p, ENTRA_CONFIG, entraSource);

    // Assess: the person Entra deleted loses access.
    expect(provisioned).not.toBe("disabled");
    expect(afterMissed).not.toBe("disabled");
    expect(report.sources.entra?.complete).toBe(true);
    expect(p.tallyfy.memberByEmail("bob.okafor@example.com")?.status).toBe("disabled");
  });

  it("deactivates everyone in a deleted scope group (entra.groups) at the next full reconciliation", async () => {
    // Prepare: scope is the Engineering group; Alice is provisioned through it.
    const config = { ...ENTRA_CONFIG, entra: { ...ENTRA_CONFIG.entra, groups: ["Engineering"] } };
    const { p, h } = await startEntra(config);
    p.tallyfy.addMember({ email: "alice.nguyen@example.com", first_name: "Alice", last_name: "Nguyen" });
    await h.schedule();
    await graph.notify("updated", `Groups/${ENTRA.engineering}`);
    await p.drain();
    const before = p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status;

    // Act: an admin deletes the scope group. Graph sends a group `deleted`; a user's memberOf
    // changing sends no user notification.
    graph.groups.delete(ENTRA.engineering);
    await graph.notify("deleted", `Groups/${ENTRA.engineering}`);
    await p.drain();

    // The deletion takes her out of the mapped Tallyfy group at once; that she is now in no group in
    // scope is found by the full reconciliation's listing, which reads her groups.
    const membersAfterDeletion = membersOf(p.tallyfy, "Engineering");
    // Alice is the one person the sync manages here: a limit of 1 lets her departure through (at
    // the default 5% the run stops and holds it back, as it should for a whole directory).
    await fullReconciliation(p, config, entraSource, 1);

    // Assess: Alice is now in none of the groups in scope, so (README) she is deactivated.
    expect(before).toBe("active");
    expect(membersAfterDeletion).toEqual([]);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("disabled");
  });
});

describe("Google: a departure during a channel lapse", () => {
  it("deactivates a provisioned user deleted in Google while the delete channel had lapsed, at the next full reconciliation", async () => {
    // Prepare: Bob is provisioned through an `add` push; then the `delete` channel lapses and Bob
    // is deleted in Google meanwhile (no push reaches us).
    const { p, h } = await startGoogle();
    await h.schedule();
    await google.push("add", { id: GOOGLE.bob, primaryEmail: "bob.okafor@example.com" });
    await p.drain();
    const provisioned = p.tallyfy.memberByEmail("bob.okafor@example.com")?.status;
    const state = p.directory.state("google");
    const old = (await state.get("channel:delete")) as { id: string; resourceId: string; expiration: number };
    await state.put("channel:delete", { ...old, expiration: Date.now() - 60_000 });
    google.users.delete(GOOGLE.bob);

    // Act: the subscription function re-opens the lapsed channel and, because changes were lost,
    // queues a read of every user.
    await h.schedule();
    await p.drain();
    const report = await fullReconciliation(p, GOOGLE_CONFIG, googleSource);

    // Assess: the person Google deleted loses access.
    expect(provisioned).toBe("invited");
    expect(report.sources.google?.complete).toBe(true);
    expect(p.tallyfy.memberByEmail("bob.okafor@example.com")?.status).toBe("disabled");
  });
});

describe("Google: super administrator role", () => {
  it("takes the Tallyfy admin role away once Google no longer says isAdmin (adminRole set, no role groups)", async () => {
    // Prepare: `google.adminRole: admin`, the default (empty) role groups. Carol is a Google super
    // administrator and becomes a Tallyfy admin.
    const config = {
      ...GOOGLE_CONFIG,
      roles: { admin: [], standard: [], light: [] },
      google: { adminRole: "admin" },
    };
    const { p, h } = await startGoogle(config);
    await h.schedule();
    await google.push("makeAdmin", { id: GOOGLE.carol, primaryEmail: "carol.diaz@example.com" });
    await p.drain();
    const promoted = p.tallyfy.memberByEmail("carol.diaz@example.com")?.role;

    // Act: Google revokes her super administrator privilege; the next update push reads isAdmin false.
    const carol = google.users.get(GOOGLE.carol);
    if (carol) carol.isAdmin = false;
    await google.push("update", { id: GOOGLE.carol, primaryEmail: "carol.diaz@example.com" });
    await p.drain();

    // Assess: she is no longer an admin in Tallyfy (the default role applies).
    expect(promoted).toBe("admin");
    expect(p.tallyfy.memberByEmail("carol.diaz@example.com")?.role).toBe("standard");
  });
});
