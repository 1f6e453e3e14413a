/**
 * SCIM requests as Entra ID, Okta and other clients really send them, and failures between a write and
 * its queueing, end in the state the client asked for.
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { expectConserved, membersOf } from "../support/e2e.js";
import { entraUser, failing, patchOp, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

async function start(config: Record<string, unknown> = DEFAULT_TEST_CONFIG) {
  pipeline = await startPipeline({ config, scim: { tokens: [SCIM_TOKEN] } });
  return scimClient(pipeline.scimUrl ?? "");
}

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const userPut = (command: unknown) =>
  command instanceof PutCommand && (command.input.Item as { pk?: string } | undefined)?.pk === "scim#users";

describe("what Entra ID really sends", () => {
  it('an app role changed through roles[primary eq "True"].value (the README\'s mapping) changes the role', async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call(
      "POST",
      "/Users",
      entraUser("ada.role@example.com", {
        roles: [{ primary: "True", type: "WindowsAzureActiveDirectoryRole", value: "standard" }],
      }),
    );
    await pipeline.drain();
    const before = pipeline.tallyfy.memberByEmail("ada.role@example.com")?.role;

    // Act
    const patched = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: 'roles[primary eq "True"].value', value: "admin" }),
    );
    await pipeline.drain();

    // Assess
    expect(before).toBe("standard");
    expect(patched.status).toBe(200);
    expect(pipeline.tallyfy.memberByEmail("ada.role@example.com")?.role).toBe("admin");
    expect(patched.body.roles.filter((r: { primary?: boolean }) => r.primary === true)).toEqual([
      expect.objectContaining({ value: "admin" }),
    ]);
  });

  it("a manager sent as Entra sends it (a string value on the URN path) is taken", async () => {
    // Prepare
    const scim = await start();
    const boss = await scim.call("POST", "/Users", entraUser("bo.boss@example.com"));
    const user = await scim.call("POST", "/Users", entraUser("cy.report@example.com"));
    await pipeline.drain();

    // Act
    const patched = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Add", path: `${ENTERPRISE}:manager`, value: boss.body.id }),
    );

    // Assess
    expect(patched.status).toBe(200);
    expect(patched.body[ENTERPRISE]?.manager?.value).toBe(boss.body.id);
  });

  it("a changed manager sent as the tutorial's Add with an array replaces the old one", async () => {
    // Prepare
    const scim = await start();
    const first = await scim.call("POST", "/Users", entraUser("di.first@example.com"));
    const second = await scim.call("POST", "/Users", entraUser("ed.second@example.com"));
    const user = await scim.call("POST", "/Users", entraUser("fay.report@example.com"));
    const manager = (id: string) =>
      patchOp({
        op: "Add",
        path: "manager",
        value: [{ $ref: `${pipeline.scimUrl}/Users/${id}`, value: id }],
      });
    await scim.call("PATCH", `/Users/${user.body.id}`, manager(first.body.id));

    // Act
    const patched = await scim.call("PATCH", `/Users/${user.body.id}`, manager(second.body.id));
    const read = await scim.call("GET", `/Users/${user.body.id}`);

    // Assess
    expect(patched.status).toBe(200);
    expect(read.body[ENTERPRISE]?.manager?.value).toBe(second.body.id);
  });
});

describe("what RFC 7644 clients send", () => {
  it("a replace without a path whose value nests the enterprise extension under its URN sets the department", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call("POST", "/Users", entraUser("gus.dept@example.com"));
    await pipeline.drain();

    // Act
    const patched = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "replace", value: { [ENTERPRISE]: { department: "Finance" } } }),
    );
    await pipeline.drain();

    // Assess
    expect(patched.status).toBe(200);
    expect(patched.body[ENTERPRISE]?.department).toBe("Finance");
    expect(pipeline.tallyfy.memberByEmail("gus.dept@example.com")?.team).toBe("Finance");
  });

  it("a member removed by a value array that also names the member's display leaves the group", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const ivy = await scim.call("POST", "/Users", entraUser("ivy.stay@example.com"));
    const jay = await scim.call("POST", "/Users", entraUser("jay.leave@example.com"));
    const group = await scim.call("POST", "/Groups", {
      displayName: "Engineering",
      members: [
        { value: ivy.body.id, display: "ivy.stay@example.com" },
        { value: jay.body.id, display: "jay.leave@example.com" },
      ],
    });
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Engineering");

    // Act
    const removed = await scim.call(
      "PATCH",
      `/Groups/${group.body.id}`,
      patchOp({
        op: "Remove",
        path: "members",
        value: [{ value: jay.body.id, display: "jay.leave@example.com" }],
      }),
    );
    await pipeline.drain();

    // Assess
    expect(before).toEqual(["ivy.stay@example.com", "jay.leave@example.com"]);
    expect(removed.status).toBe(204);
    expect(
      (await scim.call("GET", `/Groups/${group.body.id}`)).body.members.map(
        (m: { value: string }) => m.value,
      ),
    ).toEqual([ivy.body.id]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["ivy.stay@example.com"]);
  });
});

describe("a change stored but not queued", () => {
  it("a create answered 503 is queued when the IdP's next cycle finds the user by userName", async () => {
    // Prepare
    const failures = { left: 1 };
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: failing<SQSClient>(failures) } });
    const scim = scimClient(pipeline.scimUrl ?? "");

    // Act
    const created = await scim.call("POST", "/Users", entraUser("kim.lost@example.com"));
    // Entra and Okta match before they create: the user is there, so they do not POST again.
    const matched = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('userName eq "kim.lost@example.com"')}`,
    );
    await pipeline.drain();

    // Assess
    expect(created.status).toBe(503);
    expect(matched.body.totalResults).toBe(1);
    expect(pipeline.tallyfy.memberByEmail("kim.lost@example.com")).toMatchObject({ first_name: "Kim" });
  });

  it("a group create answered 503 and retried, as the answer invites, does not make two groups", async () => {
    // Prepare
    const failures = { left: 0 };
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: failing<SQSClient>(failures) } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const user = await scim.call("POST", "/Users", entraUser("liv.sales@example.com"));
    const body = { displayName: "Sales", members: [{ value: user.body.id }] };

    // Act
    failures.left = 1;
    const first = await scim.call("POST", "/Groups", body);
    const retry = await scim.call("POST", "/Groups", body);
    const found = await scim.call("GET", `/Groups?filter=${encodeURIComponent('displayName eq "Sales"')}`);

    // Assess
    expect(first.status).toBe(503);
    expect(retry.status).toBeLessThan(500);
    expect(found.body.totalResults).toBe(1);
  });

  it("a rename that failed after claiming the new userName neither blocks it nor hands out a deleted user's id", async () => {
    // Prepare
    const failures = { left: 0 };
    pipeline = await startPipeline({
      scim: { tokens: [SCIM_TOKEN], db: failing<DynamoDBDocumentClient>(failures, userPut) },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const ann = await scim.call("POST", "/Users", entraUser("ann.old@example.com"));
    await pipeline.drain();
    failures.left = 1;
    const rename = await scim.call(
      "PATCH",
      `/Users/${ann.body.id}`,
      patchOp({ op: "Replace", path: "userName", value: "bea.new@example.com" }),
    );
    // The rename is undone in the IdP before it is retried; then Ann leaves.
    const deleted = await scim.call("DELETE", `/Users/${ann.body.id}`);
    await pipeline.drain();

    // Act
    const bea = await scim.call("POST", "/Users", entraUser("bea.new@example.com"));
    await pipeline.drain();

    // Assess
    expect(rename.status).toBe(503);
    expect(deleted.status).toBe(204);
    expect(bea.status).toBe(201);
    // Ann left: her member stays disabled and keeps her name; Bea is invited under her own email.
    expect(pipeline.tallyfy.memberByEmail("ann.old@example.com")).toMatchObject({
      status: "disabled",
      first_name: "Ann",
    });
    expect(pipeline.tallyfy.memberByEmail("bea.new@example.com")).toMatchObject({ first_name: "Bea" });
    expect(bea.body.id).not.toBe(ann.body.id);
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });

  it("a rename that failed after claiming the new userName does not refuse another user that name", async () => {
    // Prepare
    const failures = { left: 0 };
    pipeline = await startPipeline({
      scim: { tokens: [SCIM_TOKEN], db: failing<DynamoDBDocumentClient>(failures, userPut) },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const ann = await scim.call("POST", "/Users", entraUser("ann.keep@example.com"));
    failures.left = 1;
    const rename = await scim.call(
      "PATCH",
      `/Users/${ann.body.id}`,
      patchOp({ op: "Replace", path: "userName", value: "cal.free@example.com" }),
    );

    // Act
    const match = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('userName eq "cal.free@example.com"')}`,
    );
    const cal = await scim.call("POST", "/Users", entraUser("cal.free@example.com"));
    await pipeline.drain();

    // Assess
    expect(rename.status).toBe(503);
    expect(match.body.totalResults).toBe(0);
    expect(cal.status).toBe(201);
    expect(pipeline.tallyfy.memberByEmail("cal.free@example.com")).toMatchObject({ first_name: "Cal" });
  });
});

describe("newer decisions stay", () => {
  it("a profile-only PATCH does not bring back an app role a newer role-group membership overrode", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call(
      "POST",
      "/Users",
      entraUser("lea.role@example.com", {
        roles: [{ primary: true, type: "WindowsAzureActiveDirectoryRole", value: "admin" }],
      }),
    );
    await pipeline.drain();
    await scim.call("POST", "/Groups", { displayName: "Contractors", members: [{ value: user.body.id }] });
    await pipeline.drain();
    const afterGroup = pipeline.tallyfy.memberByEmail("lea.role@example.com")?.role;

    // Act
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Buyer" }),
    );
    await pipeline.drain();

    // Assess
    expect(afterGroup).toBe("light");
    expect(pipeline.tallyfy.memberByEmail("lea.role@example.com")).toMatchObject({
      job_title: "Buyer",
      role: "light",
    });
  });
});

describe("the right status for a request that can never succeed", () => {
  it("a user too large to store (under the 1 MiB body cap) is refused with a 4xx, not a retryable 503", async () => {
    // Prepare
    const scim = await start();
    const photo = `data:image/png;base64,${"A".repeat(450_000)}`;
    const body = entraUser("max.photo@example.com", { photos: [{ type: "photo", value: photo }] });

    // Act
    const first = await scim.call("POST", "/Users", body);
    const retry = await scim.call("POST", "/Users", body);

    // Assess
    expect(JSON.stringify(body).length).toBeLessThan(1_048_576);
    expect([first.status, retry.status]).not.toContain(503);
    expect(first.status).toBeGreaterThanOrEqual(400);
    expect(first.status).toBeLessThan(500);
  });

  it("a malformed percent-encoded id is a 404, not a retryable 503", async () => {
    // Prepare
    const scim = await start();

    // Act
    const answer = await scim.call("GET", "/Users/%E0%A4%A");

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });
});

describe("list projections", () => {
  it("attributes=emails.value keeps emails a list of values", async () => {
    // Prepare
    const scim = await start();
    await scim.call("POST", "/Users", entraUser("nia.proj@example.com"));

    // Act
    const listed = await scim.call("GET", "/Users?attributes=emails.value");

    // Assess
    expect(listed.status).toBe(200);
    expect(listed.body.Resources[0].emails).toEqual([{ value: "nia.proj@example.com" }]);
  });
});

describe("the README's limits", () => {
  it("a group never holds more than 5,000 members: the add past it is refused with 413", async () => {
    // Prepare
    const scim = await start();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 5_001) {
          const i = next++;
          const user = await scim.call("POST", "/Users", entraUser(`m${i}.big@example.com`));
          ids[i] = user.body.id;
        }
      }),
    );
    const group = await scim.call("POST", "/Groups", {
      displayName: "Everyone",
      members: ids.slice(0, 5_000).map((value) => ({ value })),
    });

    // Act
    const added = await scim.call(
      "PATCH",
      `/Groups/${group.body.id}`,
      patchOp({ op: "Add", path: "members", value: [{ value: ids[5_000] }] }),
    );

    // Assess
    expect(group.status).toBe(201);
    expect(added.status).toBe(413);
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).body.members).toHaveLength(5_000);
  }, 240_000);
});

describe("guards", () => {
  it("a password Okta sends is kept nowhere: not in the table, not on the queue, not in any answer", async () => {
    // Prepare
    const password = "Okta-Synced-Pa55word!";
    const queued: string[] = [];
    const recording = (client: SQSClient): SQSClient =>
      new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property !== "send") return value;
          return (command: unknown) => {
            if (command instanceof SendMessageBatchCommand)
              queued.push(...(command.input.Entries ?? []).map((e) => e.MessageBody ?? ""));
            if (command instanceof SendMessageCommand) queued.push(command.input.MessageBody ?? "");
            return (value as (c: unknown) => Promise<unknown>).call(target, command);
          };
        },
      });
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: recording } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const okta = { "User-Agent": "Okta SCIM Client 1.0.0" };

    // Act
    const created = await scim.call("POST", "/Users", { ...entraUser("ola.pw@example.com"), password }, okta);
    const put = await scim.call(
      "PUT",
      `/Users/${created.body.id}`,
      { ...created.body, password, title: "Buyer" },
      okta,
    );
    const patched = await scim.call(
      "PATCH",
      `/Users/${created.body.id}`,
      patchOp({ op: "replace", path: "password", value: password }, { op: "replace", value: { password } }),
      okta,
    );
    const refused = await scim.call(
      "PATCH",
      `/Users/${created.body.id}`,
      patchOp({ op: "replace", value: { password, active: "maybe" } }),
      okta,
    );
    await pipeline.drain();
    const table = await pipeline.dynamo.client.send(
      new ScanCommand({ TableName: pipeline.dynamo.tableName }),
    );

    // Assess
    expect([created.status, put.status, patched.status, refused.status]).toEqual([201, 200, 200, 400]);
    for (const answer of [created, put, patched, refused])
      expect(JSON.stringify(answer.body)).not.toContain(password);
    expect(JSON.stringify(table.Items)).not.toContain(password);
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.join("\n")).not.toContain(password);
  });

  it("concurrent PATCHes of one user's active flag end in Tallyfy as the last stored one says", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call("POST", "/Users", entraUser("pam.flip@example.com"));
    await pipeline.drain();

    // Act
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        for (;;) {
          const answer = await scim.call(
            "PATCH",
            `/Users/${user.body.id}`,
            patchOp(
              { op: "Replace", path: "active", value: i % 2 === 0 ? "False" : "True" },
              { op: "Replace", path: "title", value: `Title ${i}` },
            ),
          );
          if (answer.status !== 503) return answer.status;
        }
      }),
    );
    await pipeline.drain();
    const stored = (await scim.call("GET", `/Users/${user.body.id}`)).body;

    // Assess
    expect(statuses.every((s) => s === 200)).toBe(true);
    const member = pipeline.tallyfy.memberByEmail("pam.flip@example.com");
    expect(member?.status === "disabled").toBe(stored.active === false);
    // A deactivated member's profile is left as it was (README): it is compared only when active.
    if (stored.active !== false) expect(member?.job_title).toBe(stored.title);
    else
      expect((await pipeline.directory.person("pam.flip@example.com"))?.profile.jobTitle?.value).toBe(
        stored.title,
      );
  });
});
