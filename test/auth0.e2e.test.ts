/**
 * Auth0 Log Streams and Event Streams, end to end: each sample (test/fixtures/auth0, the shared one
 * among them) through the real ingest handler, which reads the user from a fake Auth0 Management
 * API with a credential from a Secrets Manager stand-in, and the real apply handler into the fake
 * Tallyfy, whose final state is checked.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { seedTenant, TENANT, TENANT_CONFIG } from "../local/fakes/auth0-tenant.js";
import { FakeAuth0 } from "../local/fakes/fake-auth0.js";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { startPipeline, type TestPipeline, totals } from "../local/pipeline.js";
import { membersOf } from "./support/e2e.js";
import { useLocalSecretsManager } from "./support/secrets-manager.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "auth0");
const fixture = (name: string) => readFileSync(path.join(fixtures, `${name}.json`), "utf8");
const SECRET_ID = "tallyfy-idp-sync/auth0-test";

const secretsManager = useLocalSecretsManager();
let auth0: FakeAuth0;
let pipeline: TestPipeline | undefined;

beforeEach(async () => {
  auth0 = await FakeAuth0.start();
  seedTenant(auth0);
  secretsManager().secrets.set(SECRET_ID, auth0.secret);
});

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await auth0.stop();
});

async function start(config: Record<string, unknown> = TENANT_CONFIG): Promise<TestPipeline> {
  pipeline = await startPipeline({ config, environment: { AUTH0_SECRET_ID: SECRET_ID } });
  pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
  pipeline.tallyfy.addGroup({ name: "Partners" });
  pipeline.tallyfy.addMember({ email: "alice.nguyen@example.com", first_name: "Alice", last_name: "Nguyen" });
  return pipeline;
}

/** Tallyfy's state as a plain value, comparable across runs. */
function stateOf(tallyfy: FakeTallyfy) {
  return {
    members: [...tallyfy.members.values()]
      .map(({ id: _id, updated_at: _updated, ...member }) => member)
      .sort((a, b) => a.email.localeCompare(b.email)),
    guests: [...tallyfy.guests.values()].map((g) => g.email).sort(),
    groups: [...tallyfy.groups.values()].map((g) => ({ name: g.name, members: membersOf(tallyfy, g.name) })),
  };
}

describe("Auth0 Log Streams", () => {
  it("applies the shared sapi profile update from the Management API's user, never acting on the admin", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(fixture("sapi-update-user-profile"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")).toMatchObject({
      first_name: "Alicia",
      last_name: "Nguyen-Park",
      job_title: "Operations Manager",
      phone: "+1 312 555 0199",
      timezone: "America/Chicago",
      team: "Customer Success",
      role: "standard",
    });
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["alice.nguyen@example.com"]);
    expect(p.tallyfy.memberByEmail("dana.whitfield@example.com")).toBeUndefined();
    expect(auth0.requests.map((r) => r.path)).toEqual([
      `/api/v2/users/${encodeURIComponent(TENANT.alice)}`,
      `/api/v2/users/${encodeURIComponent(TENANT.alice)}/roles`,
    ]);
  });

  it("invites a signup only once Auth0 has verified the email, and never writes a masked value", async () => {
    // Prepare
    const p = await start();
    const priya = auth0.users.get(TENANT.priya);
    if (priya) priya.email_verified = false;

    // Act
    await p.send(fixture("ss-signup"), fixture("sapi-create-user"));
    await p.drain();
    const beforeVerified = p.tallyfy.memberByEmail("priya.shah@example.com");
    if (priya) priya.email_verified = true;
    await p.send(fixture("sv-email-verified"));
    await p.drain();

    // Assess
    expect(beforeVerified).toBeUndefined();
    expect(totals(p.tallies.ingest)).toMatchObject({ ignored: 2, deadLettered: 0 });
    const member = p.tallyfy.memberByEmail("priya.shah@example.com");
    expect(member).toMatchObject({ first_name: "Priya", last_name: "Shah", timezone: "Europe/London" });
    expect(member?.job_title ?? null).toBeNull();
    expect(membersOf(p.tallyfy, "Engineering")).toEqual(["priya.shah@example.com"]);
    expect(JSON.stringify(p.tallyfy.writes)).not.toContain("***");
  });

  it("gives the role a mapped Auth0 role id says, and takes it back when the role is removed", async () => {
    // Prepare
    const p = await start();
    auth0.assignRole(TENANT.alice, TENANT.adminRole);

    // Act
    await p.send(fixture("sapi-assign-roles"));
    await p.drain();
    const assigned = p.tallyfy.memberByEmail("alice.nguyen@example.com")?.role;
    auth0.removeRole(TENANT.alice, TENANT.adminRole);
    auth0.removeRole(TENANT.alice, TENANT.engineeringRole);
    await p.send(fixture("sapi-remove-roles"));
    await p.drain();

    // Assess
    expect(assigned).toBe("admin");
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("standard");
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([]);
  });

  it("splits a role given to several users into one read each", async () => {
    // Prepare
    const p = await start();
    auth0.assignRole(TENANT.priya, TENANT.engineeringRole);

    // Act
    await p.send(fixture("sapi-role-assign-users"));
    await p.drain();

    // Assess
    expect(membersOf(p.tallyfy, "Engineering")).toEqual([
      "alice.nguyen@example.com",
      "priya.shah@example.com",
    ]);
    expect(await p.deadLetters("ingest")).toEqual([]);
  });

  it("disables a blocked user and brings them back when unblocked", async () => {
    // Prepare
    const p = await start();
    const alice = auth0.users.get(TENANT.alice);
    if (alice) alice.blocked = true;

    // Act
    await p.send(fixture("sapi-block-user"));
    await p.drain();
    const blocked = p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status;
    if (alice) alice.blocked = false;
    await p.send(fixture("sapi-unblock-user"));
    await p.drain();

    // Assess
    expect(blocked).toBe("disabled");
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
  });

  it("departs a deleted user through the link made when provisioning them, for each deletion format", async () => {
    for (const deletion of [
      "sdu-user-deleted",
      "du-user-deleted-legacy",
      "sapi-delete-user",
      "event-user-deleted",
    ]) {
      // Prepare
      const p = await start();
      auth0.addUser({
        user_id: TENANT.omar,
        email: "omar.haddad@example.com",
        email_verified: true,
        given_name: "Omar",
        family_name: "Haddad",
      });
      await p.send(
        fixture("sapi-update-user-profile").replaceAll("66b2f1c9e4a7d30012ab34cd", TENANT.omar.slice(6)),
      );
      await p.drain();
      const provisioned = p.tallyfy.memberByEmail("omar.haddad@example.com")?.status;
      auth0.deleteUser(TENANT.omar);

      // Act
      await p.send(fixture(deletion));
      await p.drain();

      // Assess
      expect(provisioned, deletion).toBe("invited");
      expect(p.tallyfy.memberByEmail("omar.haddad@example.com")?.status, deletion).toBe("disabled");
      await p.stop();
      pipeline = undefined;
    }
  });

  it("deactivates nobody for a deletion of a user this sync never provisioned, or one Auth0 still has", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(fixture("sdu-user-deleted"), fixture("forged-sdu-existing-user"));
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 2, ignored: 2, deadLettered: 0 });
    expect(p.tallyfy.writes).toEqual([]);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).toBe("active");
  });

  it("counts unsynced log types, other Management API calls and test events as ignored, reading nothing", async () => {
    // Prepare
    const p = await start();

    // Act
    await p.send(
      fixture("unhandled-s-login"),
      fixture("unhandled-sapi-update-client"),
      fixture("event-test"),
    );
    await p.drain();

    // Assess
    expect(totals(p.tallies.ingest)).toMatchObject({ received: 3, ignored: 3, deadLettered: 0 });
    expect(auth0.requests).toEqual([]);
    expect(auth0.tokenRequests).toBe(0);
  });
});

describe("Auth0 Event Streams", () => {
  it("invites a created user and keeps them in step with updates, one token for all", async () => {
    // Prepare
    const p = await start();

    // Act: one after the other, so the second finds the first's token in the cache
    await p.send(fixture("event-user-created"));
    await p.drain();
    await p.send(fixture("event-user-updated"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("priya.shah@example.com")).toMatchObject({
      first_name: "Priya",
      status: "invited",
    });
    expect(auth0.tokenRequests).toBe(1);
  });

  it("makes users of a guest connection Tallyfy guests", async () => {
    // Prepare
    const p = await start();
    auth0.addUser({
      user_id: "samlp|partners-saml|kim",
      email: "kim.lee@example.com",
      email_verified: true,
      identities: [{ connection: "partners-saml", provider: "samlp" }],
      app_metadata: { groups: "Partners" },
    });

    // Act
    await p.send(fixture("event-user-created").replaceAll(TENANT.priya, "samlp|partners-saml|kim"));
    await p.drain();

    // Assess
    expect(p.tallyfy.memberByEmail("kim.lee@example.com")).toBeUndefined();
    expect(p.tallyfy.guests.get("kim.lee@example.com")).toBeDefined();
  });
});

describe("Auth0 convergence and faults", () => {
  const everything = readdirSync(fixtures).map((file) => file.replace(/\.json$/, ""));

  it("reaches the same Tallyfy state from every sample in order, reversed, and duplicated", async () => {
    // Prepare: the tenant as it is after all the samples
    auth0.assignRole(TENANT.alice, TENANT.adminRole);
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
      members: [
        expect.objectContaining({ email: "alice.nguyen@example.com", role: "admin", first_name: "Alicia" }),
        expect.objectContaining({ email: "priya.shah@example.com", role: "standard" }),
      ],
    });
  });

  it("waits for Auth0's X-RateLimit-Reset on a 429 and loses nothing", async () => {
    // Prepare
    const p = await start();
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    auth0.inject({ path: /\/users\//, status: 429, times: 2, headers: { "X-RateLimit-Reset": reset } });
    const started = Date.now();

    // Act
    await p.send(fixture("sapi-update-user-profile"));
    await p.drain();

    // Assess
    expect(auth0.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(auth0.requests.at(-1)?.status).toBe(200);
    expect(Date.now()).toBeGreaterThanOrEqual(Number(reset) * 1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(p.tallyfy.memberByEmail("alice.nguyen@example.com")?.first_name).toBe("Alicia");
    expect(await p.deadLetters("ingest")).toEqual([]);
  });

  it("dead-letters with a reason that names the secret but never its value when Auth0 refuses the credential", async () => {
    // Prepare
    secretsManager().secrets.set(
      SECRET_ID,
      JSON.stringify({ ...JSON.parse(auth0.secret), clientSecret: "s3cr3t-wrong" }),
    );
    const p = await start();

    // Act
    await p.send(fixture("sapi-update-user-profile"));
    await p.drain();

    // Assess
    const [letter] = await p.deadLetters("ingest");
    expect(letter?.errorType).toBe("Auth0CredentialsError");
    expect(letter?.errorMessage).toContain("/oauth/token answered HTTP 401");
    expect(JSON.stringify(letter)).not.toContain("s3cr3t-wrong");
  });
});
