/**
 * SCIM names stay unique and findable, a retried request changes things once, and groups mapped by
 * their SCIM id follow renames.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
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

const byUserName = (userName: string) => `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`;

/**
 * A DynamoDB client whose next `times.left` matching writes land, but whose answer is lost: the
 * AWS SDK sends the same request again, and that attempt answers for both (a conditional put then
 * fails its condition, as DynamoDB's documentation warns).
 */
function landedButRetried<T extends object>(times: { left: number }, matches: (command: unknown) => boolean) {
  return (client: T): T =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "send") return value;
        const send = (command: unknown) => (value as (c: unknown) => Promise<unknown>).call(target, command);
        return async (command: unknown) => {
          if (times.left > 0 && matches(command)) {
            times.left--;
            await send(command);
          }
          return send(command);
        };
      },
    });
}

/**
 * An SQS client that holds back the messages whose body matches, answering as if they were sent:
 * a standard queue delivers in any order, so they arrive after later ones. `release` sends them.
 */
function holdingBack(matches: (body: string) => boolean) {
  const held: SendMessageBatchCommand[] = [];
  let real: SQSClient | undefined;
  const wrap = (client: SQSClient): SQSClient => {
    real = client;
    return new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "send") return value;
        return (command: unknown) => {
          if (
            command instanceof SendMessageBatchCommand &&
            (command.input.Entries ?? []).some((e) => matches(e.MessageBody ?? ""))
          ) {
            held.push(command);
            return Promise.resolve({ Successful: [], Failed: [] });
          }
          return (value as (c: unknown) => Promise<unknown>).call(target, command);
        };
      },
    });
  };
  return {
    wrap,
    held,
    async release(): Promise<void> {
      for (const command of held.splice(0)) await real?.send(command);
    },
  };
}

const userPut = (userName: string) => (command: unknown) =>
  command instanceof PutCommand &&
  (command.input.Item as { pk?: string; resource?: { userName?: string } } | undefined)?.pk ===
    "scim#users" &&
  (command.input.Item as { resource?: { userName?: string } }).resource?.userName === userName;

describe("userNames stay unique and findable", () => {
  it("a rename sent twice at once (a client retry of a slow request) leaves the new userName claimed", async () => {
    // Prepare
    const scim = await start();
    const ann = await scim.call("POST", "/Users", entraUser("ann.before@example.com"));
    await pipeline.drain();

    // Act
    const renames = await Promise.all(
      Array.from({ length: 4 }, () =>
        scim.call(
          "PATCH",
          `/Users/${ann.body.id}`,
          patchOp({ op: "Replace", path: "userName", value: "ann.after@example.com" }),
        ),
      ),
    );
    // The IdP's next cycle matches Ann by her userName; another person is then given a userName.
    const matched = await scim.call("GET", byUserName("ann.after@example.com"));
    const impostor = await scim.call(
      "POST",
      "/Users",
      entraUser("ann.after@example.com", {
        emails: [{ primary: true, type: "work", value: "someone.else@example.com" }],
      }),
    );

    // Assess
    expect(renames.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await scim.call("GET", `/Users/${ann.body.id}`)).body.userName).toBe("ann.after@example.com");
    expect({ matched: matched.body.totalResults, impostor: impostor.status }).toEqual({
      matched: 1,
      impostor: 409,
    });
  });

  it("a create whose write landed but whose answer was lost (the SDK retried it) makes one user, found by its userName", async () => {
    // Prepare
    const times = { left: 1 };
    pipeline = await startPipeline({
      scim: {
        tokens: [SCIM_TOKEN],
        db: landedButRetried<DynamoDBDocumentClient>(times, userPut("bo.lost@example.com")),
      },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");

    // Act
    const first = await scim.call("POST", "/Users", entraUser("bo.lost@example.com"));
    // Whatever the answer, the IdP matches by userName before it creates again.
    const matched = await scim.call("GET", byUserName("bo.lost@example.com"));
    const again =
      matched.body.totalResults === 0
        ? await scim.call("POST", "/Users", entraUser("bo.lost@example.com"))
        : undefined;
    const all = await scim.call("GET", "/Users");
    await pipeline.drain();

    // Assess
    const named = all.body.Resources.filter(
      (u: { userName: string }) => u.userName === "bo.lost@example.com",
    );
    expect({
      first: first.status,
      matched: matched.body.totalResults,
      postedAgain: again?.status,
      users: named.length,
    }).toEqual({ first: expect.any(Number), matched: 1, postedAgain: undefined, users: 1 });
  });
});

describe("member removals as Entra and Okta send them", () => {
  it("removing two members by value array, one already gone with its deleted user, removes the other", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const ivy = await scim.call("POST", "/Users", entraUser("ivy.last@example.com"));
    const jay = await scim.call("POST", "/Users", entraUser("jay.deleted@example.com"));
    const group = await scim.call("POST", "/Groups", {
      displayName: "Engineering",
      members: [{ value: ivy.body.id }, { value: jay.body.id }],
    });
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Engineering");

    // Act
    // Entra hard-deletes Jay (users first in a cycle), then sends the group's removals.
    const deleted = await scim.call("DELETE", `/Users/${jay.body.id}`);
    const removed = await scim.call(
      "PATCH",
      `/Groups/${group.body.id}`,
      patchOp({ op: "Remove", path: "members", value: [{ value: ivy.body.id }, { value: jay.body.id }] }),
    );
    await pipeline.drain();

    // Assess
    expect(before).toEqual(["ivy.last@example.com", "jay.deleted@example.com"]);
    expect(deleted.status).toBe(204);
    expect(removed.status).toBe(204);
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).body.members).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
  });

  it("a removal of every member answered 503, retried as the answer invites, is not refused", async () => {
    // Prepare
    const failures = { left: 0 };
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: failing<SQSClient>(failures) } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const kai = await scim.call("POST", "/Users", entraUser("kai.out@example.com"));
    const lin = await scim.call("POST", "/Users", entraUser("lin.out@example.com"));
    const group = await scim.call("POST", "/Groups", {
      displayName: "Engineering",
      members: [{ value: kai.body.id }, { value: lin.body.id }],
    });
    await pipeline.drain();
    const removal = patchOp(
      { op: "remove", path: `members[value eq "${kai.body.id}"]` },
      { op: "remove", path: `members[value eq "${lin.body.id}"]` },
    );

    // Act
    failures.left = 1;
    const first = await scim.call("PATCH", `/Groups/${group.body.id}`, removal);
    const retry = await scim.call("PATCH", `/Groups/${group.body.id}`, removal);
    await pipeline.drain();

    // Assess
    expect(first.status).toBe(503);
    expect(retry.status).toBe(204);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
  });
});

describe("group names", () => {
  it("two groups swapping their displayNames (as Entra sends the end state of a cycle) are both renamed", async () => {
    // Prepare
    const scim = await start();
    const red = await scim.call("POST", "/Groups", { displayName: "Team Red", members: [] });
    const blue = await scim.call("POST", "/Groups", { displayName: "Team Blue", members: [] });

    // Act
    // Each rename is retried in later cycles, in either order, as a failed export is.
    const statuses: number[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const renames = [
        () =>
          scim.call(
            "PATCH",
            `/Groups/${red.body.id}`,
            patchOp({ op: "Replace", path: "displayName", value: "Team Blue" }),
          ),
        () =>
          scim.call(
            "PATCH",
            `/Groups/${blue.body.id}`,
            patchOp({ op: "Replace", path: "displayName", value: "Team Red" }),
          ),
      ];
      if (cycle % 2 === 1) renames.reverse();
      for (const rename of renames) statuses.push((await rename()).status);
    }

    // Assess
    expect(statuses).toContain(204);
    expect((await scim.call("GET", `/Groups/${red.body.id}`)).body.displayName).toBe("Team Blue");
    expect((await scim.call("GET", `/Groups/${blue.body.id}`)).body.displayName).toBe("Team Red");
  });

  it("/Schemas describes the uniqueness of a Group's displayName as the endpoint enforces it", async () => {
    // Prepare
    const scim = await start();
    await scim.call("POST", "/Groups", { displayName: "Finance", members: [] });

    // Act
    const second = await scim.call("POST", "/Groups", { displayName: "finance", members: [] });
    const schema = await scim.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group");

    // Assess
    const displayName = schema.body.attributes.find((a: { name: string }) => a.name === "displayName");
    expect(displayName.uniqueness).toBe(second.status === 409 ? "server" : "none");
  });

  it("a group mapped by its SCIM id (read from GET /Groups, as the README's step 3 says) brings in the members it already had", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Partners" });
    const max = await scim.call("POST", "/Users", entraUser("max.early@example.com"));
    const group = await scim.call("POST", "/Groups", {
      displayName: "Partner desk",
      members: [{ value: max.body.id }],
    });
    await pipeline.drain();
    const listed = await scim.call(
      "GET",
      `/Groups?filter=${encodeURIComponent('displayName eq "Partner desk"')}&excludedAttributes=members`,
    );
    const id = listed.body.Resources[0].id;

    // Act
    pipeline.reconfigure({
      ...DEFAULT_TEST_CONFIG,
      groups: { ...DEFAULT_TEST_CONFIG.groups, [id]: "Partners" },
    });
    // The README: a configuration change applies on each person's next reconcile.
    await scim.call(
      "PATCH",
      `/Users/${max.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Partner manager" }),
    );
    await pipeline.drain();

    // Assess
    expect(id).toBe(group.body.id);
    expect(pipeline.tallyfy.memberByEmail("max.early@example.com")?.job_title).toBe("Partner manager");
    expect(membersOf(pipeline.tallyfy, "Partners")).toEqual(["max.early@example.com"]);
  });
});

describe("a change back is followed", () => {
  it("a user whose userType changes from Guest to Member becomes a Tallyfy member", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call(
      "POST",
      "/Users",
      entraUser("gil.contract@example.com", { userType: "Guest" }),
    );
    await pipeline.drain();
    const wasGuest = pipeline.tallyfy.guests.get("gil.contract@example.com");

    // Act
    const hired = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "userType", value: "Member" }),
    );
    await pipeline.drain();

    // Assess
    expect(wasGuest).toMatchObject({ first_name: "Gil" });
    expect(hired.status).toBe(200);
    expect(pipeline.tallyfy.memberByEmail("gil.contract@example.com")).toMatchObject({ first_name: "Gil" });
  });
});

describe("a person's identity", () => {
  it("a new user given an address another user left (and the admin moved in Tallyfy, as the dead letter says) is refused, not written onto that user's member", async () => {
    // Prepare
    const scim = await start();
    const jane = await scim.call(
      "POST",
      "/Users",
      entraUser("jane.smith@example.com", { title: "Engineer" }),
    );
    await pipeline.drain();
    await scim.call(
      "PATCH",
      `/Users/${jane.body.id}`,
      patchOp(
        { op: "Replace", path: "userName", value: "jane.doe@example.com" },
        { op: "Replace", path: 'emails[type eq "work"].value', value: "jane.doe@example.com" },
        { op: "Replace", path: "name.familyName", value: "Doe" },
      ),
    );
    await pipeline.drain();
    const reported = (await pipeline.deadLetters("ingest")).map((l) => l.errorType);
    // The administrator changes the member's email in Tallyfy by hand, as the README says.
    const janeMember = pipeline.tallyfy.memberByEmail("jane.smith@example.com");
    if (janeMember) janeMember.email = "jane.doe@example.com";

    // Act
    // Months later the old address is given to a new hire.
    const janet = await scim.call(
      "POST",
      "/Users",
      entraUser("jane.smith@example.com", {
        title: "Intern",
        name: { givenName: "Janet", familyName: "Smith" },
      }),
    );
    await pipeline.drain();
    const afterHire = { ...pipeline.tallyfy.members.get(janeMember?.id ?? -1) };
    await scim.call("DELETE", `/Users/${janet.body.id}`);
    await pipeline.drain();

    // Assess: the address is still Jane's in the directory, so the new user is refused, saying
    // why, rather than written onto Jane's member (and deleting her later disabling Jane).
    expect(reported).toEqual(["EmailChangeError"]);
    expect(janet.status).toBe(409);
    expect(janet.body).toMatchObject({ scimType: "uniqueness" });
    expect(janet.body.detail).toContain(
      "jane.smith@example.com is the email another user was provisioned under",
    );
    expect(afterHire).toMatchObject({ email: "jane.doe@example.com", first_name: "Jane", last_name: "Doe" });
    expect(pipeline.tallyfy.members.get(janeMember?.id ?? -1)?.status).not.toBe("disabled");
  });

  it("an inactive create delivered after its reactivation (a standard queue keeps no order) invites the person without a dead letter", async () => {
    // Prepare
    const hold = holdingBack((body) => body.includes('"type":"user.deactivated"'));
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: hold.wrap } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const user = await scim.call("POST", "/Users", entraUser("vera.late@example.com", { active: false }));

    // Act
    const enabled = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "active", value: "True" }),
    );
    await pipeline.drain();
    const held = hold.held.length;
    await hold.release();
    await pipeline.drain();

    // Assess
    expect([user.status, enabled.status, held]).toEqual([201, 200, 1]);
    expect(pipeline.tallyfy.memberByEmail("vera.late@example.com")).toMatchObject({ first_name: "Vera" });
    expect((await pipeline.deadLetters("reconcile")).map((d) => d.errorType)).toEqual([]);
  });
});

describe("guards", () => {
  it("title A, then B, then A again ends at A even when the B change is delivered last", async () => {
    // Prepare
    const hold = holdingBack((body) => body.includes('"jobTitle":"Buyer B"'));
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: hold.wrap } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const user = await scim.call("POST", "/Users", entraUser("ros.revert@example.com", { title: "Buyer A" }));
    await pipeline.drain();

    // Act
    const toB = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Buyer B" }),
    );
    const backToA = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Buyer A" }),
    );
    await pipeline.drain();
    const beforeLate = pipeline.tallyfy.memberByEmail("ros.revert@example.com")?.job_title;
    const held = hold.held.length;
    await hold.release();
    await pipeline.drain();

    // Assess
    expect([toB.status, backToA.status]).toEqual([200, 200]);
    expect(held).toBe(1);
    expect(beforeLate).toBe("Buyer A");
    expect(pipeline.tallyfy.memberByEmail("ros.revert@example.com")?.job_title).toBe("Buyer A");
  });

  it("a claim older than the staleness rule is not taken from a live user who holds the name", async () => {
    // Prepare
    const scim = await start();
    const pat = await scim.call("POST", "/Users", entraUser("pat.holder@example.com"));
    const other = await scim.call("POST", "/Users", entraUser("quinn.other@example.com"));
    // As if Pat had been created long ago: the claim is past the 60 s rule.
    await DynamoDBDocumentClient.from(pipeline.dynamo.client).send(
      new UpdateCommand({
        TableName: pipeline.dynamo.tableName,
        Key: { pk: "scim#username#pat.holder@example.com", sk: "-" },
        UpdateExpression: "SET claimedAt = :old",
        ExpressionAttributeValues: { ":old": 0 },
      }),
    );

    // Act
    const duplicate = await scim.call("POST", "/Users", entraUser("Pat.Holder@example.com"));
    const rename = await scim.call(
      "PATCH",
      `/Users/${other.body.id}`,
      patchOp({ op: "Replace", path: "userName", value: "pat.holder@example.com" }),
    );
    const matched = await scim.call("GET", byUserName("pat.holder@example.com"));

    // Assess
    expect([duplicate.status, rename.status]).toEqual([409, 409]);
    expect(matched.body.Resources.map((u: { id: string }) => u.id)).toEqual([pat.body.id]);
  });

  it("a user deleted and created again under the same email, with a new id, is active again and takes later changes", async () => {
    // Prepare
    const scim = await start();
    const first = await scim.call("POST", "/Users", entraUser("uli.back@example.com"));
    await pipeline.drain();
    await scim.call("DELETE", `/Users/${first.body.id}`);
    await pipeline.drain();
    const gone = pipeline.tallyfy.memberByEmail("uli.back@example.com")?.status;

    // Act
    const again = await scim.call("POST", "/Users", entraUser("uli.back@example.com"));
    await scim.call(
      "PATCH",
      `/Users/${again.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Returner" }),
    );
    await pipeline.drain();

    // Assess
    expect(gone).toBe("disabled");
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
    expect(pipeline.tallyfy.memberByEmail("uli.back@example.com")).toMatchObject({ job_title: "Returner" });
    expect(pipeline.tallyfy.memberByEmail("uli.back@example.com")?.status).not.toBe("disabled");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });
});
