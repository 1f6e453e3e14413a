/**
 * The Auth0 and IAM Identity Center EventBridge sources keep every change: a linked user whose email
 * became unusable, a deleted group, two CloudTrail events in one second.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { membershipIn } from "../../handlers/core/desired-state.js";
import { logger } from "../../handlers/runtime/observability.js";
import { seedTenant, TENANT, TENANT_CONFIG } from "../../local/fakes/auth0-tenant.js";
import { FakeAuth0 } from "../../local/fakes/fake-auth0.js";
import { FakeIdentityStore } from "../../local/fakes/fake-identity-store.js";
import { STORE, STORE_CONFIG, seedStore } from "../../local/fakes/identity-center-directory.js";
import { startPipeline, type TestPipeline, totals } from "../../local/pipeline.js";
import { membersOf } from "../support/e2e.js";
import { useLocalSecretsManager } from "../support/secrets-manager.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const read = (dir: string, name: string) =>
  readFileSync(path.join(here, "..", "fixtures", dir, `${name}.json`), "utf8");
const auth0Fixture = (name: string) => read("auth0", name);
const icFixture = (name: string) => JSON.parse(read("identity-center", name)) as CloudTrailEnvelope;

interface CloudTrailEnvelope {
  time: string;
  detail: {
    eventTime: string;
    eventID: string;
    eventName: string;
    requestParameters: Record<string, unknown> | null;
    responseElements: Record<string, unknown> | null;
  };
}

/** The same CloudTrail event at another time and with another event id. */
function at(event: CloudTrailEnvelope, time: string, eventId: string): CloudTrailEnvelope {
  return { ...event, time, detail: { ...event.detail, eventTime: time, eventID: eventId } };
}

const SECRET_ID = "tallyfy-idp-sync/auth0-attack";
const secretsManager = useLocalSecretsManager();
let pipeline: TestPipeline | undefined;
let info: MockInstance;

/** The reasons the ingest handler gave for the records it counted as ignored, so far. */
const ignoredReasons = () =>
  info.mock.calls
    .filter(([message]) => message === "ignored")
    .map(([, fields]) => String((fields as { reason?: unknown }).reason));

beforeEach(() => {
  info = vi.spyOn(logger, "info");
});

afterEach(async () => {
  info.mockRestore();
  await pipeline?.stop();
  pipeline = undefined;
});

describe("Auth0: a change to a user whose email is (now) unverified", () => {
  let auth0: FakeAuth0;

  beforeEach(async () => {
    auth0 = await FakeAuth0.start();
    seedTenant(auth0);
    secretsManager().secrets.set(SECRET_ID, auth0.secret);
  });

  afterEach(async () => {
    await auth0.stop();
  });

  async function start(): Promise<TestPipeline> {
    pipeline = await startPipeline({ config: TENANT_CONFIG, environment: { AUTH0_SECRET_ID: SECRET_ID } });
    pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
    pipeline.tallyfy.addMember({
      email: "alice.nguyen@example.com",
      first_name: "Alice",
      last_name: "Nguyen",
    });
    return pipeline;
  }

  it("blocking a provisioned user deactivates them even after their email changed to an unverified one", async () => {
    // Prepare: Alice is provisioned (and linked) by this sync...
    const p = await start();
    await p.send(auth0Fixture("sapi-update-user-profile"));
    await p.drain();
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
    // ...then an admin changes her email (Auth0 marks a new email unverified) and blocks her.
    const alice = auth0.users.get(TENANT.alice);
    if (!alice) throw new Error("seed");
    Object.assign(alice, { email: "alice.nguyen-park@example.com", email_verified: false, blocked: true });

    // Act
    await p.send(auth0Fixture("sapi-block-user"));
    await p.drain();

    // Assess: README "blocked: true deactivates"; she must lose access under the member this sync made.
    expect(ignoredReasons()).toEqual([]);
    expect(p.tallyfy.memberByEmail("alice.nguyen-park@example.com")).toBeUndefined();
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("disabled");
  });

  it("removing a mapped admin role demotes a provisioned user even after their email changed to an unverified one", async () => {
    // Prepare: Alice is an admin through her Auth0 role, provisioned and linked by this sync...
    const p = await start();
    auth0.assignRole(TENANT.alice, TENANT.adminRole);
    await p.send(auth0Fixture("sapi-assign-roles"));
    await p.drain();
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
    // ...then her email changes (unverified) and the admin role is taken away.
    const alice = auth0.users.get(TENANT.alice);
    if (!alice) throw new Error("seed");
    Object.assign(alice, { email: "alice.nguyen-park@example.com", email_verified: false });
    auth0.removeRole(TENANT.alice, TENANT.adminRole);

    // Act
    await p.send(auth0Fixture("sapi-remove-roles"));
    await p.drain();

    // Assess
    expect(ignoredReasons()).toEqual([]);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("standard");
  });
});

describe("Auth0 defences that held", () => {
  let auth0: FakeAuth0;

  beforeEach(async () => {
    auth0 = await FakeAuth0.start();
    seedTenant(auth0);
    secretsManager().secrets.set(SECRET_ID, auth0.secret);
  });

  afterEach(async () => {
    await auth0.stop();
  });

  it("a late, older profile update re-reads the blocked user and does not undo the newer block", async () => {
    // Prepare: the block (10:30) is applied first; the profile update (10:11) arrives late.
    pipeline = await startPipeline({ config: TENANT_CONFIG, environment: { AUTH0_SECRET_ID: SECRET_ID } });
    const p = pipeline;
    p.tallyfy.addGroup({ name: "Engineering" });
    p.tallyfy.addMember({ email: "alice.nguyen@example.com", first_name: "Alice", last_name: "Nguyen" });
    const alice = auth0.users.get(TENANT.alice);
    if (!alice) throw new Error("seed");
    alice.blocked = true;
    await p.send(auth0Fixture("sapi-block-user"));
    await p.drain();

    // Act
    await p.send(auth0Fixture("sapi-update-user-profile"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("disabled");
  });

  it("renews the cached token once when Auth0 answers 401, and loses nothing", async () => {
    // Prepare: one event caches a token; Auth0 then refuses it once (revoked or expired early).
    pipeline = await startPipeline({ config: TENANT_CONFIG, environment: { AUTH0_SECRET_ID: SECRET_ID } });
    const p = pipeline;
    p.tallyfy.addGroup({ name: "Engineering" });
    await p.send(auth0Fixture("event-user-created"));
    await p.drain();
    auth0.inject({ path: /\/users\//, status: 401, times: 1 });

    // Act
    await p.send(auth0Fixture("sapi-update-user-profile"));
    await p.drain();

    // Assess
    expect(auth0.tokenRequests).toBe(2);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.first_name).toBe("Alicia");
    expect(await p.deadLetters("ingest")).toEqual([]);
  });
});

describe("Identity Center", () => {
  let store: FakeIdentityStore;

  beforeEach(async () => {
    store = await FakeIdentityStore.start(STORE.id);
    seedStore(store);
  });

  afterEach(async () => {
    await store.stop();
  });

  async function start(): Promise<TestPipeline> {
    pipeline = await startPipeline({
      config: STORE_CONFIG,
      environment: { IDENTITY_STORE_ENDPOINT: store.endpoint, IDENTITY_STORE_MAX_ATTEMPTS: "2" },
    });
    pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
    return pipeline;
  }

  it("a DisableUser deactivates a provisioned user whose email was removed in the store", async () => {
    // Prepare: Jordan is provisioned and linked by this sync...
    const p = await start();
    await p.send(icFixture("create-user"));
    await p.drain();
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.status).toBe("invited");
    // ...then an UpdateUser removes his email, and he is disabled.
    const jordan = store.users.get(STORE.jordan);
    if (!jordan) throw new Error("seed");
    jordan.Emails = [];
    jordan.UserStatus = "DISABLED";

    // Act
    await p.send(icFixture("disable-user-console"));
    await p.drain();

    // Assess: README "DisableUser: deactivated when the store says DISABLED".
    expect(ignoredReasons()).toEqual([]);
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.status).toBe("disabled");
  });

  it("a DeleteGroup of a mapped group takes its members out of the Tallyfy group", async () => {
    // Prepare: Jordan is in Engineering through Identity Center.
    const p = await start();
    await p.send(icFixture("create-group-membership"));
    await p.drain();
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["jordan.lee@example.com"]);
    // The group is deleted in Identity Center: its memberships go with it (no DeleteGroupMembership each).
    store.groups.delete(STORE.engineering);
    store.removeMembership(STORE.jordanInEngineering);
    const update = icFixture("update-group");
    const deleteGroup: CloudTrailEnvelope = {
      ...update,
      time: "2024-09-20T16:50:00Z",
      detail: {
        ...update.detail,
        eventName: "DeleteGroup",
        eventTime: "2024-09-20T16:50:00Z",
        eventID: "a5b6c7d8-e9f0-a1b2-c3d4-0000000000d1",
        requestParameters: { identityStoreId: STORE.id, groupId: STORE.engineering },
        responseElements: null,
      },
    };

    // Act
    await p.send(deleteGroup);
    await p.drain();

    // Assess
    expect(ignoredReasons()).toEqual([]);
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([]);
  });

  it("a membership removed in the same second as it was added is removed in Tallyfy, whatever the event ids", async () => {
    // Prepare: the add and the removal are one CloudTrail second apart of nothing (a script, Terraform).
    const second = "2024-09-20T16:22:53Z";
    const p = await start();
    await p.send(at(icFixture("create-group-membership"), second, "ffffffff-e9f0-a1b2-c3d4-e5f60718293a"));
    await p.drain();
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["jordan.lee@example.com"]);
    store.removeMembership(STORE.jordanInEngineering);

    // Act
    await p.send(at(icFixture("delete-group-membership"), second, "00000000-e9f0-a1b2-c3d4-000000000006"));
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 2, ignored: 0, deadLettered: 0 });
    // The removal was read after the add: the later read wins, not the larger random event id.
    const jordan = await p.directory.person("jordan.lee@example.com");
    if (!jordan) throw new Error("Jordan was not recorded");
    expect(membershipIn(jordan, STORE.engineering, p.config())).toMatchObject({ value: false });
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([]);
  });

  it("a DisableUser in the same second as an EnableUser deactivates, whatever the event ids", async () => {
    // Prepare: Jordan is provisioned, then enabled and (in the same CloudTrail second) disabled again.
    const second = "2024-09-20T16:31:00Z";
    const p = await start();
    await p.send(icFixture("create-user"));
    await p.drain();
    await p.send(at(icFixture("enable-user-console"), second, "ffffffff-e9f0-a1b2-c3d4-000000000005"));
    await p.drain();
    const jordan = store.users.get(STORE.jordan);
    if (!jordan) throw new Error("seed");
    jordan.UserStatus = "DISABLED";

    // Act
    await p.send(at(icFixture("disable-user-console"), second, "00000000-e9f0-a1b2-c3d4-000000000004"));
    await p.drain();

    // Assess
    const person = await p.directory.person("jordan.lee@example.com");
    expect(person?.status).toMatchObject({ value: "inactive" });
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.status).toBe("disabled");
  });
});
