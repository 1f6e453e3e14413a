/**
 * SCIM 2.0 end to end: requests to the loopback endpoint (the real SCIM handler), through the
 * ingest and reconcile queues, into the fake Tallyfy. Each test checks the SCIM answer and the
 * final Tallyfy state.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../local/pipeline.js";
import { expectConserved, membersOf } from "./support/e2e.js";
import { entraUser, failing, patchOp, SCIM_TOKEN, scimClient } from "./support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

async function start(config: Record<string, unknown> = DEFAULT_TEST_CONFIG) {
  pipeline = await startPipeline({ config, scim: { tokens: [SCIM_TOKEN] } });
  return scimClient(pipeline.scimUrl ?? "");
}

describe("the SCIM fixtures, as Entra ID and Okta sent them", () => {
  it("creates, updates, groups and disables people in Tallyfy", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });

    // Act
    const created = await scim.replay("scim-entra/post-user-create");
    const bob = await scim.call("POST", "/Users", entraUser("bob.stone@example.com"));
    const group = await scim.call("POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      externalId: "0a1b2c3d-0000-4000-8000-000000000001",
      displayName: "Engineering",
      members: [],
    });
    await pipeline.drain();
    const ids = {
      "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b": created.body.id,
      "7a2d3b0f-4c5e-4f60-9b8c-0d1e2f3a4b5c": bob.body.id,
      "a1b2c3d4-e5f6-4789-8abc-def012345678": group.body.id,
    };
    const patched = await scim.replay("scim-entra/patch-user-replace-multiple-attributes", ids);
    const joined = await scim.replay("scim-entra/patch-group-add-member", ids);
    const put = await scim.replay("scim-okta/put-user-full-replace", ids);
    const disabled = await scim.replay("scim-entra/patch-user-disable-active-string-false", ids);
    await pipeline.drain();

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.get("content-type")).toContain("application/scim+json");
    expect(created.body).toMatchObject({
      userName: "alice.nguyen@example.com",
      active: true,
      meta: { resourceType: "User" },
    });
    expect([patched.status, joined.status, put.status, disabled.status]).toEqual([200, 204, 200, 200]);
    expect(disabled.body.active).toBe(false);
    const alice = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com");
    expect(alice).toMatchObject({
      first_name: "Alicia",
      last_name: "Nguyen-Park",
      job_title: "Operations Manager",
      team: "Customer Success",
      timezone: "America/Chicago",
      phone: "+1 312 555 0199",
    });
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["alice.nguyen@example.com"]);
    expect(pipeline.tallyfy.memberByEmail("bob.stone@example.com")?.status).toBe("disabled");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });
});

describe("a provisioning cycle", () => {
  it("as Entra ID runs it: match, create, update, add to a group, disable, enable, delete", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const filter = encodeURIComponent('userName eq "carol.diaz@example.com"');

    // Act
    const before = await scim.call("GET", `/Users?filter=${filter}`);
    const created = await scim.call(
      "POST",
      "/Users",
      entraUser("carol.diaz@example.com", { title: "Analyst" }),
    );
    const id = created.body.id;
    const updated = await scim.call("PATCH", `/Users/${id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { op: "Replace", path: "title", value: "Lead Analyst" },
        { op: "Replace", path: "name.givenName", value: "Caroline" },
      ],
    });
    const group = await scim.call("POST", "/Groups", {
      schemas: [
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
      ],
      externalId: "e5f0c7a2-6d3b-4c1e-9f8a-0b1c2d3e4f50",
      displayName: "Engineering",
      members: [],
    });
    const found = await scim.call(
      "GET",
      `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}&excludedAttributes=members`,
    );
    const added = await scim.call("PATCH", `/Groups/${group.body.id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: id }] }],
    });
    await pipeline.drain();
    const invited = { ...pipeline.tallyfy.memberByEmail("carol.diaz@example.com") };
    const inGroup = membersOf(pipeline.tallyfy, "Engineering");
    const disable = { op: "Replace", path: "active", value: "False" };
    await scim.call("PATCH", `/Users/${id}`, { schemas: [], Operations: [disable] });
    await pipeline.drain();
    const disabled = pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status;
    await scim.call("PATCH", `/Users/${id}`, { Operations: [{ ...disable, value: "True" }] });
    await pipeline.drain();
    const enabled = pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status;
    const deleted = await scim.call("DELETE", `/Users/${id}`);
    await pipeline.drain();

    // Assess
    expect(before.body).toMatchObject({ totalResults: 0, Resources: [] });
    expect([created.status, updated.status, group.status, added.status, deleted.status]).toEqual([
      201, 200, 201, 204, 204,
    ]);
    expect(updated.body).toMatchObject({ title: "Lead Analyst", name: { givenName: "Caroline" } });
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].members).toBeUndefined();
    expect(invited).toMatchObject({ first_name: "Caroline", job_title: "Lead Analyst", role: "standard" });
    expect(inGroup).toEqual(["carol.diaz@example.com"]);
    expect(disabled).toBe("disabled");
    expect(enabled).not.toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status).toBe("disabled");
    expect((await scim.call("GET", `/Users/${id}`)).status).toBe(404);
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).body.members).toEqual([]);
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("as Okta runs it: match, create, PUT, push a group, change its members, deactivate, reactivate", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Sales" });
    const okta = { "User-Agent": "Okta SCIM Client 1.0.0" };
    const oktaUser = (login: string, first: string, oktaId: string) => ({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: login,
      name: { givenName: first, familyName: "Okta" },
      emails: [{ primary: true, value: login, type: "work" }],
      displayName: `${first} Okta`,
      locale: "en-US",
      externalId: oktaId,
      groups: [],
      password: "never-stored-1!",
      active: true,
    });

    // Act
    const match = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('userName eq "dave@example.com"')}&startIndex=1&count=100`,
      undefined,
      okta,
    );
    const dave = await scim.call("POST", "/Users", oktaUser("dave@example.com", "Dave", "00u1dave"), okta);
    const erin = await scim.call("POST", "/Users", oktaUser("erin@example.com", "Erin", "00u1erin"), okta);
    const copy = await scim.call("GET", `/Users/${dave.body.id}`, undefined, okta);
    const put = await scim.call(
      "PUT",
      `/Users/${dave.body.id}`,
      { ...copy.body, title: "Account Executive" },
      okta,
    );
    const pushed = await scim.call(
      "POST",
      "/Groups",
      { schemas: [], displayName: "Sales", members: [] },
      okta,
    );
    const gid = pushed.body.id;
    const rename = { op: "replace", value: { id: gid, displayName: "Sales" } };
    await scim.call(
      "PATCH",
      `/Groups/${gid}`,
      {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [
          rename,
          {
            op: "add",
            path: "members",
            value: [
              { value: dave.body.id, display: "dave@example.com" },
              { value: erin.body.id, display: "erin@example.com" },
            ],
          },
        ],
      },
      okta,
    );
    await pipeline.drain();
    const both = membersOf(pipeline.tallyfy, "Sales");
    await scim.call(
      "PATCH",
      `/Groups/${gid}`,
      { Operations: [rename, { op: "remove", path: `members[value eq "${erin.body.id}"]` }] },
      okta,
    );
    await scim.call(
      "PATCH",
      `/Users/${dave.body.id}`,
      { Operations: [{ op: "replace", value: { active: false } }] },
      okta,
    );
    await pipeline.drain();
    const deactivated = pipeline.tallyfy.memberByEmail("dave@example.com")?.status;
    await scim.call(
      "PATCH",
      `/Users/${dave.body.id}`,
      { Operations: [{ op: "replace", value: { active: true } }] },
      okta,
    );
    await pipeline.drain();

    // Assess
    expect(match.body.totalResults).toBe(0);
    expect([dave.status, erin.status, put.status, pushed.status]).toEqual([201, 201, 200, 201]);
    expect(dave.body.password).toBeUndefined();
    expect(JSON.stringify(copy.body)).not.toContain("never-stored");
    expect(pipeline.tallyfy.memberByEmail("dave@example.com")).toMatchObject({
      first_name: "Dave",
      job_title: "Account Executive",
    });
    expect(both).toEqual(["dave@example.com", "erin@example.com"]);
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual(["dave@example.com"]);
    expect(deactivated).toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("dave@example.com")?.status).not.toBe("disabled");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });
});

describe("what real clients send", () => {
  it("takes Entra's 2020 form (the tenant URL's ?aadOptscim062020 flag): one replace without a path, keyed by dotted and URN-prefixed paths", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call("POST", "/Users?aadOptscim062020", entraUser("frank.ode@example.com"));
    await pipeline.drain();

    // Act
    const patched = await scim.call(
      "PATCH",
      `/Users/${user.body.id}?aadOptscim062020`,
      patchOp({
        op: "replace",
        value: {
          displayName: "Frankie Ode",
          "name.givenName": "Frankie",
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Finance",
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7781",
          "urn:ietf:params:scim:schemas:extension:tallyfy:2.0:User:jobDescription": "Closes the books",
          active: true,
        },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(patched.status).toBe(200);
    expect(patched.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]).toEqual({
      department: "Finance",
      employeeNumber: "7781",
    });
    expect(pipeline.tallyfy.memberByEmail("frank.ode@example.com")).toMatchObject({
      first_name: "Frankie",
      team: "Finance",
      job_description: "Closes the books",
    });
  });

  it("makes an Entra B2B guest a Tallyfy guest under their own email, not the #EXT# UPN", async () => {
    // Prepare
    const scim = await start();
    const upn = "gina.ray_partner.org#EXT#@acme.onmicrosoft.com";

    // Act
    const created = await scim.call(
      "POST",
      "/Users",
      entraUser(upn, {
        emails: [{ primary: true, type: "work", value: "gina.ray@partner.org" }],
        name: { givenName: "Gina", familyName: "Ray" },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(created.status).toBe(201);
    expect(pipeline.tallyfy.guests.get("gina.ray@partner.org")).toMatchObject({ first_name: "Gina" });
    expect([...pipeline.tallyfy.members.values()].map((m) => m.email)).not.toContain("gina.ray@partner.org");
  });

  it("compares userName ignoring case, in filters and in uniqueness", async () => {
    // Prepare
    const scim = await start();
    await scim.call("POST", "/Users", entraUser("hal.moss@example.com"));

    // Act
    const found = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('userName eq "HAL.Moss@Example.com"')}`,
    );
    const byEmail = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('emails[type eq "work" and value co "MOSS"]')}&attributes=userName`,
    );
    const duplicate = await scim.call("POST", "/Users", entraUser("Hal.Moss@example.com"));

    // Assess
    expect(found.body.totalResults).toBe(1);
    expect(byEmail.body.Resources).toEqual([
      {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        id: found.body.Resources[0].id,
        userName: "hal.moss@example.com",
      },
    ]);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: "409",
      scimType: "uniqueness",
    });
  });

  it("removes members by value array (Entra) and replaces them all, roles following the groups", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const ids: string[] = [];
    for (const name of ["ida.lee", "jon.kim", "kay.wu"]) {
      ids.push((await scim.call("POST", "/Users", entraUser(`${name}@example.com`))).body.id);
    }
    const [ida, jon, kay] = ids as [string, string, string];
    const admins = await scim.call("POST", "/Groups", {
      displayName: "Tallyfy Admins",
      members: [{ value: ida }],
    });
    const eng = await scim.call("POST", "/Groups", {
      displayName: "Engineering",
      members: [{ value: ida }, { value: jon }, { value: kay }],
    });
    await pipeline.drain();
    const adminBefore = pipeline.tallyfy.memberByEmail("ida.lee@example.com")?.role;

    // Act
    await scim.call(
      "PATCH",
      `/Groups/${eng.body.id}`,
      patchOp({ op: "Remove", path: "members", value: [{ value: jon }] }),
    );
    await scim.call(
      "PATCH",
      `/Groups/${admins.body.id}`,
      patchOp({ op: "replace", path: "members", value: [{ value: kay }] }),
    );
    await pipeline.drain();

    // Assess
    expect(adminBefore).toBe("admin");
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["ida.lee@example.com", "kay.wu@example.com"]);
    expect(pipeline.tallyfy.memberByEmail("ida.lee@example.com")?.role).toBe("standard");
    expect(pipeline.tallyfy.memberByEmail("kay.wu@example.com")?.role).toBe("admin");
  });

  it("follows a group mapped by the identity provider's id through a rename", async () => {
    // Prepare
    const objectId = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
    const scim = await start({ ...DEFAULT_TEST_CONFIG, groups: { [objectId]: "Partners" } });
    pipeline.tallyfy.addGroup({ name: "Partners" });
    const user = await scim.call("POST", "/Users", entraUser("lou.fox@example.com"));
    const group = await scim.call("POST", "/Groups", {
      externalId: objectId,
      displayName: "Partner managers",
      members: [{ value: user.body.id }],
    });
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Partners");

    // Act
    const renamed = await scim.call(
      "PATCH",
      `/Groups/${group.body.id}`,
      patchOp({ op: "Replace", path: "displayName", value: "Partner success" }),
    );
    await pipeline.drain();

    // Assess
    expect(renamed.status).toBe(204);
    expect(before).toEqual(["lou.fox@example.com"]);
    expect(membersOf(pipeline.tallyfy, "Partners")).toEqual(["lou.fox@example.com"]);
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).body.displayName).toBe("Partner success");
  });

  it("answers the discovery endpoints", async () => {
    // Prepare
    const scim = await start();

    // Act
    const config = await scim.call("GET", "/ServiceProviderConfig");
    const types = await scim.call("GET", "/ResourceTypes");
    const user = await scim.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");

    // Assess
    expect(config.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true },
    });
    expect(types.body.Resources.map((r: { id: string }) => r.id)).toEqual(["User", "Group"]);
    expect(user.body.attributes.find((a: { name: string }) => a.name === "userName")).toMatchObject({
      uniqueness: "server",
      required: true,
    });
  });
});

describe("bad input gets the right SCIM error, and nothing is written", () => {
  const cases: [
    string,
    (id: string) => [string, string, unknown, Record<string, string>?],
    number,
    string?,
  ][] = [
    ["malformed JSON", () => ["POST", "/Users", '{"userName": "x@example.com",'], 400, "invalidSyntax"],
    ["a PATCH without Operations", (id) => ["PATCH", `/Users/${id}`, { schemas: [] }], 400, "invalidSyntax"],
    [
      "an unknown attribute path",
      (id) => ["PATCH", `/Users/${id}`, patchOp({ op: "replace", path: "favouriteColour", value: "red" })],
      400,
      "invalidPath",
    ],
    [
      "an invalid filter",
      () => ["GET", `/Users?filter=${encodeURIComponent("userName eq")}`, undefined],
      400,
      "invalidFilter",
    ],
    [
      "an unknown attribute in a filter",
      () => ["GET", `/Users?filter=${encodeURIComponent("shoeSize gt 9")}`, undefined],
      400,
      "invalidFilter",
    ],
    ["a missing token", () => ["POST", "/Users", entraUser("new@example.com"), { Authorization: "" }], 401],
    [
      "a wrong token",
      () => ["POST", "/Users", entraUser("new@example.com"), { Authorization: "Bearer wrong" }],
      401,
    ],
    ["a duplicate userName", () => ["POST", "/Users", entraUser("mia.cho@example.com")], 409, "uniqueness"],
    [
      "a member that is no user",
      (id) => ["POST", "/Groups", { displayName: "Sales", members: [{ value: `${id}x` }] }],
      400,
      "invalidValue",
    ],
    [
      "a body over 1 MiB",
      () => ["POST", "/Users", { ...entraUser("big@example.com"), title: "x".repeat(1_100_000) }],
      413,
    ],
    [
      "a user without an email",
      () => ["POST", "/Users", entraUser("nomail#EXT#@acme.onmicrosoft.com", { emails: [] })],
      400,
      "invalidValue",
    ],
    [
      "an unknown id",
      () => ["PATCH", "/Users/no-such-id", patchOp({ op: "replace", path: "title", value: "x" })],
      404,
    ],
    [
      "a string where a boolean belongs",
      (id) => ["PATCH", `/Users/${id}`, patchOp({ op: "replace", path: "active", value: "maybe" })],
      400,
      "invalidValue",
    ],
  ];

  it.each(cases)("%s", async (_name, request, status, scimType) => {
    // Prepare
    const scim = await start();
    const existing = await scim.call("POST", "/Users", entraUser("mia.cho@example.com", { title: "Buyer" }));
    await pipeline.drain();
    const ingested = pipeline.tallies.ingest.reduce((n, t) => n + t.received, 0);
    const [method, resource, body, headers] = request(existing.body.id);

    // Act
    const answer = await scim.call(method, resource, body, headers);
    await pipeline.drain();

    // Assess
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: String(status),
    });
    if (scimType) expect(answer.body.scimType).toBe(scimType);
    if (status === 401) expect(answer.headers.get("www-authenticate")).toContain("Bearer");
    expect(pipeline.tallies.ingest.reduce((n, t) => n + t.received, 0)).toBe(ingested);
    const users = await scim.call("GET", "/Users");
    expect(users.body.totalResults).toBe(1);
    expect(users.body.Resources[0]).toMatchObject({
      userName: "mia.cho@example.com",
      title: "Buyer",
      active: true,
    });
    expect((await scim.call("GET", "/Groups")).body.totalResults).toBe(0);
  });
});

describe("nothing stored is lost, and concurrent changes to one group keep every member", () => {
  const failingSends = (failures: { left: number }) => failing<SQSClient>(failures);

  it("a create stored but not queued is answered 503, and the IdP's retry (409) queues it", async () => {
    // Prepare
    const failures = { left: 1 };
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: failingSends(failures) } });
    const scim = scimClient(pipeline.scimUrl ?? "");

    // Act
    const first = await scim.call("POST", "/Users", entraUser("nia.obi@example.com"));
    await pipeline.drain();
    const afterFirst = pipeline.tallyfy.memberByEmail("nia.obi@example.com");
    const retry = await scim.call("POST", "/Users", entraUser("nia.obi@example.com"));
    await pipeline.drain();

    // Assess
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBe("5");
    expect(afterFirst).toBeUndefined();
    expect(retry.status).toBe(409);
    expect(pipeline.tallyfy.memberByEmail("nia.obi@example.com")).toMatchObject({ first_name: "Nia" });
  });

  it("a deletion stored but not queued still deprovisions when the IdP retries it", async () => {
    // Prepare
    const failures = { left: 0 };
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN], sqs: failingSends(failures) } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const user = await scim.call("POST", "/Users", entraUser("oli.ng@example.com"));
    await pipeline.drain();

    // Act
    failures.left = 1;
    const first = await scim.call("DELETE", `/Users/${user.body.id}`);
    await pipeline.drain();
    const afterFirst = pipeline.tallyfy.memberByEmail("oli.ng@example.com")?.status;
    const retry = await scim.call("DELETE", `/Users/${user.body.id}`);
    await pipeline.drain();

    // Assess
    expect(first.status).toBe(503);
    expect(afterFirst).not.toBe("disabled");
    expect(retry.status).toBe(404);
    expect(pipeline.tallyfy.memberByEmail("oli.ng@example.com")?.status).toBe("disabled");
  });

  it("a create that failed between claiming the userName and storing the user does not block it", async () => {
    // Prepare
    const failures = { left: 1 };
    const userPut = (command: unknown) =>
      command instanceof PutCommand &&
      (command.input.Item as { pk?: string } | undefined)?.pk === "scim#users";
    pipeline = await startPipeline({
      scim: { tokens: [SCIM_TOKEN], db: failing<DynamoDBDocumentClient>(failures, userPut) },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");

    // Act
    const first = await scim.call("POST", "/Users", entraUser("pia.lund@example.com"));
    const found = await scim.call(
      "GET",
      `/Users?filter=${encodeURIComponent('userName eq "pia.lund@example.com"')}`,
    );
    const retry = await scim.call("POST", "/Users", entraUser("pia.lund@example.com"));
    await pipeline.drain();

    // Assess
    expect(first.status).toBe(503);
    expect(found.body.totalResults).toBe(0);
    expect(retry.status).toBe(201);
    expect(pipeline.tallyfy.memberByEmail("pia.lund@example.com")).toMatchObject({ first_name: "Pia" });
  });

  it("twelve concurrent member adds to one group, retried on 503 as IdPs do, all land", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const users: string[] = [];
    for (let i = 0; i < 12; i++)
      users.push((await scim.call("POST", "/Users", entraUser(`p${i}.q@example.com`))).body.id);
    const group = await scim.call("POST", "/Groups", { displayName: "Engineering", members: [] });

    // Act
    const statuses = await Promise.all(
      users.map(async (id) => {
        for (;;) {
          const answer = await scim.call(
            "PATCH",
            `/Groups/${group.body.id}`,
            patchOp({ op: "Add", path: "members", value: [{ value: id }] }),
          );
          if (answer.status !== 503) return answer.status;
        }
      }),
    );
    await pipeline.drain();

    // Assess
    expect(statuses.every((s) => s === 204)).toBe(true);
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).body.members).toHaveLength(12);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toHaveLength(12);
  });
});

describe("what the README promises of each request", () => {
  it("an inactive create invites nobody and disables a member Tallyfy has; an app role names the role; a bad value is left out, the rest applies", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addMember({ email: "liz.gone@example.com", first_name: "Liz", last_name: "Gone" });

    // Act
    const disabledThere = await scim.call(
      "POST",
      "/Users",
      entraUser("liz.gone@example.com", { active: "False" }),
    );
    const inactive = await scim.call(
      "POST",
      "/Users",
      entraUser("ray.inactive@example.com", { active: false }),
    );
    const admin = await scim.call(
      "POST",
      "/Users",
      entraUser("sam.boss@example.com", {
        roles: [{ primary: "True", type: "WindowsAzureActiveDirectoryRole", value: "admin" }],
      }),
    );
    const masked = await scim.call(
      "POST",
      "/Users",
      entraUser("tia.mask@example.com", { title: "***", timezone: "Europe/Paris" }),
    );
    const longName = await scim.call(
      "POST",
      "/Users",
      entraUser("vic.long@example.com", {
        name: { givenName: "Vic", familyName: "Longfellow-Featherstonehaugh-Smythe" },
      }),
    );
    await pipeline.drain();

    // Assess
    expect([inactive.status, admin.status, masked.status, longName.status]).toEqual([201, 201, 201, 201]);
    expect(pipeline.tallyfy.memberByEmail("ray.inactive@example.com")).toBeUndefined();
    expect(disabledThere.status).toBe(201);
    expect(pipeline.tallyfy.memberByEmail("liz.gone@example.com")?.status).toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("sam.boss@example.com")?.role).toBe("admin");
    expect(pipeline.tallyfy.memberByEmail("tia.mask@example.com")).toMatchObject({
      job_title: null,
      timezone: "Europe/Paris",
    });
    // Without a valid last name Tallyfy cannot invite: the reason goes to the dead-letter queue.
    expect(pipeline.tallyfy.memberByEmail("vic.long@example.com")).toBeUndefined();
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
    expect((await pipeline.deadLetters("reconcile")).map((d) => [d.errorType, d.entity])).toEqual([
      ["CannotCreateError", "person:vic.long@example.com"],
    ]);
  });

  it("refuses a change made against an old version (If-Match), and deleting a group takes its members out", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Sales" });
    const user = await scim.call("POST", "/Users", entraUser("uma.vale@example.com"));
    const group = await scim.call("POST", "/Groups", {
      displayName: "Sales",
      members: [{ value: user.body.id }],
    });
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Sales");

    // Act
    const stale = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "replace", path: "title", value: "x" }),
      {
        "If-Match": 'W/"0"',
      },
    );
    const current = await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "replace", path: "title", value: "Rep" }),
      {
        "If-Match": user.body.meta.version,
      },
    );
    const deleted = await scim.call("DELETE", `/Groups/${group.body.id}`);
    await pipeline.drain();

    // Assess
    expect(stale.status).toBe(412);
    expect(current.status).toBe(200);
    expect(deleted.status).toBe(204);
    expect(before).toEqual(["uma.vale@example.com"]);
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("uma.vale@example.com")?.job_title).toBe("Rep");
    expect((await scim.call("GET", `/Groups/${group.body.id}`)).status).toBe(404);
  });
});

describe("an email change", () => {
  it("applies the rest to the member provisioned under the old email, and reports the change once", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call("POST", "/Users", entraUser("wes.old@example.com"));
    await pipeline.drain();

    // Act
    const emails = { op: "Replace", path: 'emails[type eq "work"].value', value: "wes.new@example.com" };
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp(emails, { op: "Replace", path: "title", value: "Chef" }),
    );
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Head Chef" }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("wes.old@example.com")?.job_title).toBe("Head Chef");
    expect(pipeline.tallyfy.memberByEmail("wes.new@example.com")).toBeUndefined();
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => l.errorType)).toEqual(["EmailChangeError"]);
    expect(letters[0]?.errorMessage).toContain("wes.old@example.com to wes.new@example.com");
  });
});

describe("an inactive user's profile", () => {
  it("is kept while they are inactive and applied when they return", async () => {
    // Prepare
    const scim = await start();
    const user = await scim.call("POST", "/Users", entraUser("yan.back@example.com", { title: "Clerk" }));
    await pipeline.drain();
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "active", value: "False" }),
    );
    await pipeline.drain();

    // Act
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "title", value: "Senior Clerk" }),
    );
    await pipeline.drain();
    const whileAway = { ...pipeline.tallyfy.memberByEmail("yan.back@example.com") };
    await scim.call(
      "PATCH",
      `/Users/${user.body.id}`,
      patchOp({ op: "Replace", path: "active", value: "True" }),
    );
    await pipeline.drain();

    // Assess
    expect(whileAway).toMatchObject({ status: "disabled", job_title: "Clerk" });
    expect(pipeline.tallyfy.memberByEmail("yan.back@example.com")).toMatchObject({
      job_title: "Senior Clerk",
    });
    expect(pipeline.tallyfy.memberByEmail("yan.back@example.com")?.status).not.toBe("disabled");
  });
});
