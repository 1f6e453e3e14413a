/**
 * AWS IAM Identity Center through CloudTrail on EventBridge, end to end: each sample
 * (test/fixtures/identity-center, the shared one among them) through the real ingest handler,
 * which reads the user back with the real `@aws-sdk/client-identitystore` pointed at a fake
 * Identity Store on loopback, and the real apply handler into the fake Tallyfy.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../local/event-source.js";
import { FakeIdentityStore } from "../local/fakes/fake-identity-store.js";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { STORE, STORE_CONFIG, seedStore } from "../local/fakes/identity-center-directory.js";
import { startPipeline, type TestPipeline, totals } from "../local/pipeline.js";
import { membersOf } from "./support/e2e.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "identity-center");
const fixture = (name: string) => readFileSync(path.join(fixtures, `${name}.json`), "utf8");
/** The user the DeleteUser sample names. */
const GONE = "f7a8b9c0-d1e2-70f3-a4b5-c6d7e8f90a1b";

let store: FakeIdentityStore;
let pipeline: TestPipeline | undefined;

beforeAll(() => {
  // The SDK signs with the function's role in Lambda; here, with the local stand-in's keys.
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  });
});

beforeEach(async () => {
  store = await FakeIdentityStore.start(STORE.id);
  seedStore(store);
});

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await store.stop();
});

async function start(config: Record<string, unknown> = STORE_CONFIG): Promise<TestPipeline> {
  pipeline = await startPipeline({
    config,
    environment: { IDENTITY_STORE_ENDPOINT: store.endpoint, IDENTITY_STORE_MAX_ATTEMPTS: "3" },
  });
  pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
  return pipeline;
}

function stateOf(tallyfy: FakeTallyfy) {
  return {
    members: [...tallyfy.members.values()]
      .map(({ id: _id, updated_at: _updated, ...member }) => member)
      .sort((a, b) => a.email.localeCompare(b.email)),
    guests: [...tallyfy.guests.values()]
      .map((g) => ({ email: g.email, disabled: g.disabled_at !== null }))
      .sort(),
    groups: [...tallyfy.groups.values()].map((g) => ({ name: g.name, members: membersOf(tallyfy, g.name) })),
  };
}

describe("Identity Center users and groups", () => {
  it("invites the member of the shared CreateGroupMembership sample with what the Identity Store says", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(fixture("create-group-membership"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")).toMatchObject({
      first_name: "Jordan",
      last_name: "Lee",
      job_title: "Platform Engineer",
      phone: "+1 206 555 0142",
      timezone: "America/Los_Angeles",
      team: "Platform",
      role: "standard",
      status: "invited",
    });
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["jordan.lee@example.com"]);
    expect(store.calls.map((c) => c.operation)).toEqual([
      "DescribeUser",
      "ListGroupMembershipsForMember",
      "DescribeGroup",
    ]);
    expect(JSON.stringify(p.tallyfy.writes)).not.toContain("HIDDEN_DUE_TO_SECURITY_REASONS");
  });

  it("takes the member out of the group on DeleteGroupMembership, found through the remembered membership", async () => {
    // Prepare
    const p = await start();
    await p.send(fixture("create-group-membership"));
    await p.drain();
    store.removeMembership(STORE.jordanInEngineering);

    // Act
    await p.send(fixture("delete-group-membership"));
    await p.drain();

    // Assess
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([]);
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.status).toBe("invited");
  });

  it("ignores a DeleteGroupMembership whose membership was never seen, reading nothing", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(fixture("delete-group-membership"));
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 1, ignored: 1, deadLettered: 0 });
    expect(store.calls).toEqual([]);
  });

  it("disables a user disabled in the console and brings them back when enabled", async () => {
    // Prepare
    const p = await start();
    await p.send(fixture("create-user"));
    await p.drain();
    const jordan = store.users.get(STORE.jordan);
    if (jordan) jordan.UserStatus = "DISABLED";

    // Act
    await p.send(fixture("disable-user-console"));
    await p.drain();
    const disabled = p.tallyfy.memberByEmail("jordan.lee@example.com")?.status;
    if (jordan) jordan.UserStatus = "ENABLED";
    await p.send(fixture("enable-user-console"));
    await p.drain();

    // Assess
    expect(disabled).toBe("disabled");
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.status).toBe("active");
  });

  it("departs a deleted user through the link made when provisioning them, and nobody when never linked", async () => {
    // Prepare
    const p = await start();
    store.addUser({
      UserId: GONE,
      UserName: "riley.chen",
      Name: { GivenName: "Riley", FamilyName: "Chen" },
      Emails: [{ Value: "riley.chen@example.com", Primary: true }],
    });
    await p.send(fixture("update-user").replaceAll(STORE.jordan, GONE));
    await p.drain();
    store.deleteUser(GONE);

    // Act
    await p.send(
      fixture("delete-user"),
      fixture("delete-user").replaceAll(GONE, "0f0f0f0f-d1e2-70f3-a4b5-c6d7e8f90a1b"),
    );
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("riley.chen@example.com")?.status).toBe("disabled");
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 3, applied: 2, ignored: 1 });
  });

  it("makes a contractor a Tallyfy guest from the console's AddMemberToGroup", async () => {
    // Prepare
    const p = await start();
    store.addMembership(STORE.engineering, STORE.sam);

    // Act
    await p.send(fixture("add-member-to-group-console"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("sam.okafor@example.com")).toBeUndefined();
    expect(p.tallyfy.guests.get("sam.okafor@example.com")).toBeDefined();
  });

  it("renames a Tallyfy group mapped by its Tallyfy id when UpdateGroup renames the Identity Center group", async () => {
    // Prepare
    const id = "0123456789abcdef0123456789abcdef";
    const p = await start({ ...STORE_CONFIG, groups: { [STORE.engineering]: id } });
    const group = p.tallyfy.addGroup({ id, name: "Engineering", description: "Builders" });
    const engineering = store.groups.get(STORE.engineering);
    if (engineering) engineering.DisplayName = "Engineering & Data";

    // Act
    await p.send(fixture("update-group"));
    await p.drain();

    // Assess
    expect(p.tallyfy.groups.get(group.id)?.name).toBe("Engineering & Data");
  });

  it("counts failed, read-only, unhandled and other stores' calls as ignored, reading nothing", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(
      fixture("failed-create-group-membership"),
      fixture("read-only-describe-user"),
      fixture("unhandled-create-group"),
      fixture("other-store-update-user"),
    );
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 4, ignored: 4, deadLettered: 0 });
    expect(store.calls).toEqual([]);
    expect(p.tallyfy.writes).toEqual([]);
  });
});

describe("Identity Center convergence and faults", () => {
  const everything = readdirSync(fixtures).map((file) => file.replace(/\.json$/, ""));

  it("reaches the same Tallyfy state from every sample in order, reversed, and duplicated", async () => {
    // Prepare: the store as it is after all the samples
    store.addMembership(STORE.engineering, STORE.sam);
    const runs: unknown[] = [];

    // Act
    for (const order of [everything, [...everything].reverse(), [...everything, ...everything].reverse()]) {
      const p = await start();
      await p.send(...order.map(fixture));
      await p.drain();
      runs.push(stateOf(p.tallyfy));
      expect(await p.deadLetters("ingest")).toEqual([]);
      await p.stop();
      pipeline = undefined;
    }

    // Assess
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[0]).toMatchObject({
      members: [expect.objectContaining({ email: "jordan.lee@example.com", team: "Platform" })],
      groups: [{ name: "Engineering", members: ["jordan.lee@example.com"] }],
    });
  });

  it("rides out throttling with the SDK's retries and loses nothing", async () => {
    // Prepare
    const p = await start();
    store.failure = { type: "ThrottlingException", status: 400, times: 2, operation: "DescribeUser" };

    // Act
    await p.send(fixture("create-group-membership"));
    await p.drain();

    // Assess
    expect(store.calls.filter((c) => c.status === 400)).toHaveLength(2);
    expect(p.tallyfy.memberByEmail("jordan.lee@example.com")?.first_name).toBe("Jordan");
    expect(await p.deadLetters("ingest")).toEqual([]);
  });

  it("dead-letters at once, naming the call, when the role may not read the store", async () => {
    // Prepare
    const p = await start();
    store.failure = { type: "AccessDeniedException", status: 400, times: 100 };

    // Act
    await p.send(fixture("create-group-membership"));
    await p.drain();

    // Assess
    const [letter] = await p.deadLetters("ingest");
    expect(letter?.errorType).toBe("IdentityStoreError");
    expect(letter?.errorMessage).toBe("Identity Store DescribeUser: AccessDeniedException");
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 1, deadLettered: 1, retried: 0 });
  });

  it("dead-letters every event, saying so, when the identity store id is not configured", async () => {
    // Prepare
    const p = await start({ ...STORE_CONFIG, "identity-center": {} });

    // Act
    await p.send(fixture("create-group-membership"));
    await p.drain();

    // Assess
    const [letter] = await p.deadLetters("ingest");
    expect(letter?.errorType).toBe("IdentityCenterNotConfiguredError");
    expect(store.calls).toEqual([]);
  });
});
