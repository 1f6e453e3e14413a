import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TallyfyIdpSync } from "../lib/tallyfy-idp-sync.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { ACME, ACME_CONFIG, seedAcme } from "../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline, totals } from "../local/pipeline.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixture = (name: string) => readFileSync(path.join(fixtures, name), "utf8");
const allOktaFixtures = ["okta-event-hook", "okta-eventbridge", "okta-samples"].flatMap((dir) =>
  readdirSync(path.join(fixtures, dir)).map((file) => `${dir}/${file}`),
);

let okta: FakeOkta;
let pipeline: TestPipeline;

async function start(config: Record<string, unknown> = ACME_CONFIG): Promise<void> {
  pipeline = await startPipeline({ config, okta: { fake: okta } });
  // Tallyfy before the sync: the mapped group, and Bob and Carol, who are leaving.
  pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
  for (const [first, last] of [
    ["Bob", "Martinez"],
    ["Carol", "Diaz"],
  ] as const) {
    pipeline.tallyfy.addMember({
      email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`,
      first_name: first,
      last_name: last,
    });
  }
}

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
});

afterEach(async () => {
  await pipeline?.stop();
  await okta.stop();
});

/** Tallyfy's state as a plain value, comparable across runs. */
function stateOf(tallyfy: FakeTallyfy) {
  const emailOf = (id: number) => tallyfy.members.get(id)?.email;
  return {
    members: [...tallyfy.members.values()]
      .map(({ id: _id, updated_at: _updated, ...member }) => member)
      .sort((a, b) => a.email.localeCompare(b.email)),
    guests: [...tallyfy.guests.values()].map((g) => g.email).sort(),
    groups: [...tallyfy.groups.values()].map((g) => ({
      name: g.name,
      description: g.description,
      members: g.members.map(emailOf).sort(),
      guests: [...g.guests].sort(),
    })),
  };
}

describe("Okta Event Hooks and Log Streaming", () => {
  it("invites a created user with the profile, role and groups read from Okta", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-create.json"));
    await pipeline.drain();

    // Assess
    const alice = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com");
    expect(alice).toMatchObject({
      first_name: "Alice",
      last_name: "Nguyen",
      job_title: "Staff Engineer",
      phone: "+1 312 555 0101",
      team: "Platform",
      timezone: "America/Chicago",
      role: "admin",
      status: "invited",
    });
    expect(pipeline.tallyfy.groupByName("Engineering")?.members).toEqual([alice?.id]);
    expect(okta.requests.map((r) => r.path)).toEqual([
      `/api/v1/users/${ACME.alice}`,
      `/api/v1/apps/${ACME.appId}/users/${ACME.alice}`,
      `/api/v1/users/${ACME.alice}/groups`,
    ]);
  });

  it("applies a profile update with Okta's current values, not the event's attribute names", async () => {
    // Prepare
    await start();
    pipeline.tallyfy.addMember({
      email: "alice.nguyen@example.com",
      first_name: "Alice",
      last_name: "Nguyen",
      job_title: "Engineer",
      role: "admin",
    });

    // Act
    await pipeline.send(fixture("okta-event-hook/user-account-update-profile.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")).toMatchObject({
      job_title: "Staff Engineer",
      team: "Platform",
      timezone: "America/Chicago",
    });
  });

  it("deactivates a deprovisioned user from a hook body and from an EventBridge envelope alike", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(fixture("okta-eventbridge/user-lifecycle-deactivate.json"));
    await pipeline.drain();
    const afterBridge = pipeline.tallyfy.memberByEmail("bob.martinez@example.com")?.status;
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-deactivate.json"));
    await pipeline.drain();

    // Assess
    expect(afterBridge).toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("bob.martinez@example.com")?.status).toBe("disabled");
    expect(pipeline.tallyfy.writes.filter((w) => w.path.endsWith("/disable"))).toHaveLength(1);
  });

  it("deactivates a deleted Okta user through the link the directory recorded when provisioning them", async () => {
    // Prepare
    await start();
    okta.addUser(
      {
        login: "carol.diaz@example.com",
        email: "carol.diaz@example.com",
        firstName: "Carol",
        lastName: "Diaz",
      },
      { id: ACME.carol },
    );
    okta.assignApp(ACME.appId, ACME.carol);
    const aboutCarol = fixture("okta-event-hook/user-account-update-profile.json")
      .replaceAll(ACME.alice, ACME.carol)
      .replaceAll("alice.nguyen@example.com", "carol.diaz@example.com");
    await pipeline.send(aboutCarol);
    await pipeline.drain();
    okta.deleteUser(ACME.carol);

    // Act
    await pipeline.send(fixture("okta-samples/user-lifecycle-delete-initiated.json"));
    await pipeline.drain();

    // Assess
    expect(okta.requests.at(-1)?.status).toBe(404);
    expect(pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status).toBe("disabled");
  });

  it("deactivates nobody for a deleted Okta user the directory never linked, whatever login the event claims", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(fixture("okta-samples/user-lifecycle-delete-initiated.json"));
    await pipeline.drain();

    // Assess
    expect(okta.requests.map((r) => r.status)).toEqual([404]);
    expect(pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status).toBe("active");
    expect(pipeline.tallyfy.writes).toEqual([]);
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ ignored: 1, deadLettered: 0 });
  });

  it("deactivates an active user unassigned from the Tallyfy app, and ignores other apps", async () => {
    // Prepare
    await start();
    const bob = okta.users.get(ACME.bob);
    if (bob) bob.status = "ACTIVE";
    const otherApp = fixture("okta-samples/application-user-membership-remove.json").replaceAll(
      ACME.appId,
      "0oa9otherapp0000x1d7",
    );

    // Act
    await pipeline.send(otherApp);
    await pipeline.drain();
    const afterOtherApp = pipeline.tallyfy.memberByEmail("bob.martinez@example.com")?.status;
    await pipeline.send(fixture("okta-samples/application-user-membership-remove.json"));
    await pipeline.drain();

    // Assess
    expect(afterOtherApp).toBe("active");
    expect(pipeline.tallyfy.memberByEmail("bob.martinez@example.com")?.status).toBe("disabled");
  });

  it("reactivates a returning user and brings the profile up to date", async () => {
    // Prepare
    await start();
    const bob = okta.users.get(ACME.bob);
    if (bob) bob.status = "ACTIVE";
    okta.assignApp(ACME.appId, ACME.bob);
    okta.addToGroup(ACME.bob, ACME.engineering);
    const member = pipeline.tallyfy.memberByEmail("bob.martinez@example.com");
    if (member) member.status = "disabled";

    // Act
    await pipeline.send(fixture("okta-samples/user-lifecycle-unsuspend.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("bob.martinez@example.com")).toMatchObject({
      status: "active",
      job_title: "Engineer",
      timezone: "Europe/Madrid",
    });
    expect(pipeline.tallyfy.groupByName("Engineering")?.members).toEqual([member?.id]);
  });

  it("ignores a stale departure of a user Okta says is active and assigned", async () => {
    // Prepare
    await start();
    const bob = okta.users.get(ACME.bob);
    if (bob) bob.status = "ACTIVE";
    okta.assignApp(ACME.appId, ACME.bob);

    // Act
    await pipeline.send(fixture("okta-samples/user-lifecycle-suspend.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("bob.martinez@example.com")?.status).toBe("active");
    expect(totals(pipeline.tallies.ingest).ignored).toBe(1);
  });

  it("updates the mapped group's description from Okta, keeping a name the configuration relies on", async () => {
    // Prepare
    await start();
    const engineering = okta.groups.get(ACME.engineering);
    if (engineering) engineering.profile.name = "Engineering & Data";

    // Act
    await pipeline.send(fixture("okta-samples/group-profile-update.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.groupByName("Engineering")?.description).toBe("Everyone who builds");
  });

  it("renames a Tallyfy group mapped by its Tallyfy id when the Okta group is renamed", async () => {
    // Prepare
    const id = "0123456789abcdef0123456789abcdef";
    pipeline = await startPipeline({
      config: { ...ACME_CONFIG, groups: { [ACME.engineering]: id } },
      okta: { fake: okta },
    });
    const group = pipeline.tallyfy.addGroup({ id, name: "Engineering", description: "Builders" });
    const engineering = okta.groups.get(ACME.engineering);
    if (engineering) engineering.profile.name = "Engineering & Data";

    // Act
    await pipeline.send(fixture("okta-samples/group-profile-update.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.groups.get(group.id)).toMatchObject({
      name: "Engineering & Data",
      description: "Everyone who builds",
    });
  });

  it("splits a hook body of several events, reads Okta for each, and invites the user once", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(fixture("okta-samples/onboarding-burst.json"));
    await pipeline.drain();

    // Assess
    const dev = pipeline.tallyfy.memberByEmail("dev.patel@example.com");
    expect(dev).toMatchObject({ first_name: "Dev", role: "standard", timezone: "Asia/Kolkata" });
    // Okta's primaryPhone is "N/A": left out, never written.
    expect(dev?.phone ?? "").toBe("");
    expect(pipeline.tallyfy.writes.filter((w) => w.path.endsWith("/invite"))).toHaveLength(1);
    expect(pipeline.tallyfy.groupByName("Engineering")?.members).toEqual([dev?.id]);
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ received: 4, applied: 4, deadLettered: 0 });
  });

  it("makes a user of a guest userType a Tallyfy guest, whatever the email domain", async () => {
    // Prepare
    await start();
    const dev = okta.users.get(ACME.dev);
    if (dev) dev.profile.userType = "Contractor";

    // Act
    await pipeline.send(fixture("okta-samples/onboarding-burst.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("dev.patel@example.com")).toBeUndefined();
    expect(pipeline.tallyfy.guests.get("dev.patel@example.com")).toMatchObject({ first_name: "Dev" });
  });

  it("never makes a user of another userType a member when the email is outside memberDomains", async () => {
    // Prepare
    await start();
    const dev = okta.users.get(ACME.dev);
    if (dev) {
      dev.profile.userType = "Employee";
      dev.profile.email = "dev.patel@partner.example.org";
      dev.profile.login = "dev.patel@partner.example.org";
    }

    // Act
    await pipeline.send(fixture("okta-samples/onboarding-burst.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("dev.patel@partner.example.org")).toBeUndefined();
    expect(pipeline.tallyfy.guests.get("dev.patel@partner.example.org")).toMatchObject({ first_name: "Dev" });
  });

  it("ignores a membership change of a group the configuration does not map, without reading Okta", async () => {
    // Prepare
    await start();
    const unmapped = fixture("okta-event-hook/group-user-membership-add-admins.json")
      .replaceAll(ACME.admins, "00g9unmapped0000x1d7")
      .replaceAll('"Tallyfy Admins"', '"Book Club"');

    // Act
    await pipeline.send(unmapped);
    await pipeline.drain();

    // Assess
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ ignored: 1, deadLettered: 0 });
    expect(okta.requests).toEqual([]);
  });

  it("ignores a user not assigned to the Tallyfy app", async () => {
    // Prepare
    await start();
    okta.unassignApp(ACME.appId, ACME.alice);

    // Act
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-create.json"));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")).toBeUndefined();
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ ignored: 1, deadLettered: 0 });
  });

  it("acknowledges unsupported and unsuccessful events as ignored, without calling Okta or Tallyfy", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(
      fixture("okta-event-hook/unsupported-event-type-user-session-start.json"),
      fixture("okta-samples/user-account-update-profile-failure.json"),
    );
    await pipeline.drain();

    // Assess
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ received: 2, ignored: 2, deadLettered: 0 });
    expect(okta.requests).toEqual([]);
    expect(pipeline.tallyfy.requests).toEqual([]);
  });

  it("dead-letters a truncated hook body with the reason", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.send(fixture("okta-event-hook/malformed-truncated-body.json"));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("ingest");
    expect(letter).toMatchObject({ errorType: "InvalidEventError", errorMessage: "body is not valid JSON" });
  });

  it("dead-letters a malformed event of a hook body alone, applying the others", async () => {
    // Prepare
    await start();
    const body = JSON.parse(fixture("okta-samples/onboarding-burst.json"));
    body.data.events[1] = { uuid: "broken-1", eventType: "user.lifecycle.activate" };

    // Act
    await pipeline.send(body);
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("ingest");
    expect(letters).toHaveLength(1);
    expect(letters[0]?.errorMessage).toMatch(/^invalid Okta System Log event broken-1: published/);
    expect(pipeline.tallyfy.memberByEmail("dev.patel@example.com")).toBeDefined();
  });
});

describe("order and repetition", () => {
  it("converges to the same Tallyfy state whether events come once, twice, or in reverse order", async () => {
    // Prepare
    const bodies = allOktaFixtures.map(fixture);
    const runs: ReturnType<typeof stateOf>[] = [];

    // Act
    for (const order of [bodies, [...bodies, ...bodies], [...bodies].reverse()]) {
      await start();
      for (const body of order) await pipeline.send(body);
      await pipeline.drain();
      runs.push(stateOf(pipeline.tallyfy));
      await pipeline.stop();
    }

    // Assess
    const [once, twice, reversed] = runs;
    expect(twice).toEqual(once);
    expect(reversed).toEqual(once);
    expect(once?.members.map((m) => [m.email, m.role, m.status])).toEqual([
      ["alice.nguyen@example.com", "admin", "invited"],
      ["bob.martinez@example.com", "standard", "disabled"],
      // Deleted in Okta before this sync ever linked her: the event alone does not name her.
      ["carol.diaz@example.com", "standard", "active"],
      ["dev.patel@example.com", "standard", "invited"],
    ]);
    expect(once?.groups).toEqual([
      {
        name: "Engineering",
        description: "Everyone who builds",
        members: ["alice.nguyen@example.com", "dev.patel@example.com"],
        guests: [],
      },
    ]);
  });
});

describe("Okta faults", () => {
  it("waits for Okta's rate-limit reset and loses nothing", async () => {
    // Prepare
    await start();
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    okta.inject({ path: /\/users\//, status: 429, times: 2, headers: { "X-Rate-Limit-Reset": reset } });

    // Act
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-create.json"));
    await pipeline.drain();

    // Assess
    expect(okta.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });

  it("retries an Okta outage through SQS, then dead-letters the event with the reason", async () => {
    // Prepare
    await start();
    okta.inject({ path: /./, status: 503 });

    // Act
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-create.json"));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("ingest");
    expect(letter).toMatchObject({
      errorType: "OktaApiError",
      eventId: "7e0f2c4a-5b1d-11ef-9a3c-4f1d2e3a4b5c",
    });
    expect(letter?.errorMessage).toMatch(/^Okta users.get: HTTP 503/);
    expect(totals(pipeline.tallies.ingest).retried).toBe(2);
    expect(pipeline.tallyfy.requests).toEqual([]);
  });

  it("dead-letters an Okta event at once, saying why, when no Okta credential is configured", async () => {
    // Prepare
    pipeline = await startPipeline({ config: ACME_CONFIG });

    // Act
    await pipeline.send(fixture("okta-event-hook/user-lifecycle-create.json"));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("ingest");
    expect(letter?.errorType).toBe("OktaNotConfiguredError");
    expect(totals(pipeline.tallies.ingest).retried).toBe(0);
  });
});

describe("messages the Event Hook endpoint queued before it stamped the source id", () => {
  it("still reach Okta: the old attribute value names no source, so the body's shape decides", async () => {
    // Prepare
    await start();

    // Act
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: fixture("okta-event-hook/user-lifecycle-create.json"),
        MessageAttributes: { source: { DataType: "String", StringValue: "okta-event-hook" } },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });
});

describe("the Event Hook endpoint's mapping templates", () => {
  let synthesized: { verification: string; send: string } | undefined;

  /** The API Gateway templates of a synthesized stack, by method (synthesized once). */
  function templates(): { verification: string; send: string } {
    if (synthesized) return synthesized;
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Hook", { env: { account: "111111111111", region: "eu-west-1" } });
    new TallyfyIdpSync(stack, "Sync", {
      syncConfig: ACME_CONFIG as never,
      tallyfyOrganizationId: "org",
      okta: { eventHook: true },
    });
    const methods = Object.values(Template.fromStack(stack).findResources("AWS::ApiGateway::Method"));
    const method = (verb: string) => methods.find((m) => m.Properties.HttpMethod === verb)?.Properties;
    synthesized = {
      verification: method("GET")?.Integration.IntegrationResponses[0].ResponseTemplates["application/json"],
      send: method("POST")?.Integration.RequestTemplates["application/json"],
    };
    return synthesized;
  }

  /**
   * Renders the VTL the templates use, as API Gateway does; anything else left in the output
   * fails the test, so a template this cannot render is noticed rather than half-checked.
   */
  function render(template: string, request: { body?: string; headers?: Record<string, string> }): string {
    const output = template
      .split("\n")
      .filter((line) => !line.trimStart().startsWith("##"))
      .join("\n")
      .replace(/\$util\.urlEncode\(\$input\.body\)/g, () =>
        encodeURIComponent(request.body ?? "").replace(/%20/g, "+"),
      )
      .replace(/\$util\.escapeJavaScript\(\$input\.params\('([^']+)'\)\)/g, (_, name: string) =>
        JSON.stringify(request.headers?.[name] ?? "").slice(1, -1),
      );
    expect(output).not.toContain("$");
    return output;
  }

  it("answers the verification challenge with Okta's own value", () => {
    // Prepare
    const { verification } = templates();

    // Act
    const answer = render(verification, { headers: { "X-Okta-Verification-Challenge": 'Zx"9_chal\\lenge' } });

    // Assess
    expect(JSON.parse(answer)).toEqual({ verification: 'Zx"9_chal\\lenge' });
  });

  it("puts Okta's body on the queue byte for byte, where ingest applies it", async () => {
    // Prepare
    await start();
    const body = fixture("okta-event-hook/user-lifecycle-create.json");
    const form = new URLSearchParams(render(templates().send, { body }));

    // Act
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: form.get("MessageBody") ?? "",
        MessageAttributes: {
          [form.get("MessageAttribute.1.Name") ?? ""]: {
            DataType: form.get("MessageAttribute.1.Value.DataType") ?? "",
            StringValue: form.get("MessageAttribute.1.Value.StringValue") ?? "",
          },
        },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(form.get("Action")).toBe("SendMessage");
    expect(form.get("MessageBody")).toBe(body);
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
  });
});
