/**
 * A SCIM request about one person changes no one else: not through the process (a PATCH that
 * walks into `Object.prototype`), not through the domain rule (a `userType` making an outsider a
 * member), not through another source's people (a SCIM group named like another source's role
 * group), and a body that cannot be read is refused as such (400), never answered "retry" (503).
 * Requests go through the loopback SCIM endpoint, the pipeline and the fake Tallyfy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, expectConserved } from "../support/e2e.js";
import { entraUser, patchOp, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

async function start(config: Record<string, unknown> = DEFAULT_TEST_CONFIG) {
  pipeline = await startPipeline({ config, scim: { tokens: [SCIM_TOKEN] } });
  return scimClient(pipeline.scimUrl ?? "");
}

/** A PATCH body as raw JSON: a JavaScript literal cannot hold an own `__proto__` key. */
const rawPatch = (operation: string) =>
  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${operation}]}`;

/** The own properties of the prototypes every JSON value inherits from, and of their functions. */
const prototypeKeys = () =>
  [Object.prototype, Array.prototype].flatMap((proto) =>
    Object.getOwnPropertyNames(proto).flatMap((name) => {
      const member = Object.getOwnPropertyDescriptor(proto, name)?.value;
      return [
        name,
        ...(typeof member === "function"
          ? Object.getOwnPropertyNames(member).map((m) => `${name}.${m}`)
          : []),
      ];
    }),
  );

describe("a PATCH cannot reach the process's prototypes", () => {
  const hostile: readonly [string, string][] = [
    ["a dotted value key", '{"op":"add","path":"name","value":{"__proto__.roles":[{"value":"admin"}]}}'],
    [
      "a constructor.prototype value key",
      '{"op":"add","path":"name","value":{"constructor.prototype.roles":[{"value":"admin"}]}}',
    ],
    [
      "a URN-prefixed value key",
      '{"op":"replace","path":"name","value":{"urn:x:__proto__.roles":[{"value":"admin"}]}}',
    ],
    [
      "a nested own __proto__ key",
      '{"op":"add","value":{"name":{"__proto__":{"roles":[{"value":"admin"}]}}}}',
    ],
    ["an inherited member as a value key", '{"op":"add","path":"name","value":{"toString.polluted":"x"}}'],
    ["an array's inherited member", '{"op":"add","value":{"emails.map.polluted":"x"}}'],
    ["a path", '{"op":"add","path":"name.__proto__","value":{"roles":[{"value":"admin"}]}}'],
    ["a path inside a filter", '{"op":"replace","path":"emails[constructor eq \\"x\\"].value","value":"a"}'],
  ];

  it.each(hostile)("refuses %s with 400, and another user who sent no role stays standard", async (_, op) => {
    // Prepare
    const scim = await start();
    const ann = await scim.call("POST", "/Users", entraUser("ann.lee@example.com"));
    await pipeline.drain();
    const before = prototypeKeys();

    // Act
    const attack = await scim.call("PATCH", `/Users/${ann.body.id}`, rawPatch(op));
    const bo = await scim.call("POST", "/Users", entraUser("bo.kim@example.com"));
    await pipeline.drain();

    // Assess
    expect(attack.status).toBe(400);
    expect(["invalidValue", "invalidPath"]).toContain(attack.body.scimType);
    expect(prototypeKeys()).toEqual(before);
    expect(bo.status).toBe(201);
    expect(bo.body.roles ?? []).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("bo.kim@example.com")?.role).toBe("standard");
    expect(pipeline.tallyfy.memberByEmail("ann.lee@example.com")?.role).toBe("standard");
  });

  it("refuses a create whose body holds an own __proto__ key, and stores nothing", async () => {
    // Prepare
    const scim = await start();
    const body = JSON.stringify(entraUser("cy.ong@example.com")).replace(
      /^\{/,
      '{"__proto__":{"roles":[{"value":"admin","primary":true}]},',
    );

    // Act
    const created = await scim.call("POST", "/Users", body);
    const listed = await scim.call("GET", "/Users");

    // Assess
    expect(created.status).toBe(400);
    expect(created.body.scimType).toBe("invalidValue");
    expect(listed.body.totalResults).toBe(0);
  });

  it("refuses filters and attribute lists that name a prototype, as it refuses any unknown attribute", async () => {
    // Prepare
    const scim = await start();
    await scim.call("POST", "/Users", entraUser("di.roy@example.com"));

    // Act
    const filtered = await scim.call("GET", `/Users?filter=${encodeURIComponent("constructor pr")}`);
    const projected = await scim.call("GET", "/Users?attributes=__proto__,userName");

    // Assess
    expect(filtered.status).toBe(400);
    expect(filtered.body.scimType).toBe("invalidFilter");
    expect(projected.status).toBe(200);
    expect(Object.keys(projected.body.Resources[0]).sort()).toEqual(["id", "schemas", "userName"]);
  });
});

describe("a body nested beyond any SCIM resource", () => {
  const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

  it("is refused with 400 on create and on PATCH, not answered 503 for the client to retry forever", async () => {
    // Prepare
    const scim = await start();
    const ann = await scim.call("POST", "/Users", entraUser("ann.lee@example.com"));
    const deep = nested(100_000);

    // Act
    const created = await scim.call(
      "POST",
      "/Users",
      `{"userName":"eve@example.com","emails":[{"value":"eve@example.com"}],"x":${deep}}`,
    );
    const patched = await scim.call(
      "PATCH",
      `/Users/${ann.body.id}`,
      rawPatch(`{"op":"replace","path":"title","value":${deep}}`),
    );

    // Assess
    expect([created.status, patched.status]).toEqual([400, 400]);
    expect(created.body.detail).toMatch(/nested deeper than 16 levels/);
    expect(created.headers.get("retry-after")).toBeNull();
  });
});

describe("a userType other than Guest", () => {
  it.each(["Contractor", "Member", "Employee"])(
    "(%s) never makes an address outside memberDomains a member: the person is a guest",
    async (userType) => {
      // Prepare
      const scim = await start();

      // Act
      const created = await scim.call(
        "POST",
        "/Users",
        entraUser("sam.out@partner.example.org", { userType }),
      );
      await pipeline.drain();

      // Assess
      expect(created.status).toBe(201);
      expect(pipeline.tallyfy.memberByEmail("sam.out@partner.example.org")).toBeUndefined();
      expect(pipeline.tallyfy.guests.get("sam.out@partner.example.org")).toBeDefined();
    },
  );

  it("leaves an address inside memberDomains a member, and Guest still makes a guest", async () => {
    // Prepare
    const scim = await start();

    // Act
    await scim.call("POST", "/Users", entraUser("kim.in@example.com", { userType: "Contractor" }));
    await scim.call("POST", "/Users", entraUser("lou.guest@example.com", { userType: "Guest" }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("kim.in@example.com")).toBeDefined();
    expect(pipeline.tallyfy.guests.get("lou.guest@example.com")).toBeDefined();
    expect(pipeline.tallyfy.memberByEmail("lou.guest@example.com")).toBeUndefined();
  });
});

describe("a SCIM client and the people another source provides", () => {
  const at = eventsAt("hr");

  it("cannot grant admin through a SCIM group named like another source's admin group, nor change that person", async () => {
    // Prepare: the HR producer (the canonical event) provides Rita as a standard member.
    const scim = await start();
    await pipeline.send(
      at(0, "user.created", {
        source: "hr",
        user: { email: "rita.cho@example.com", firstName: "Rita", lastName: "Cho", groups: ["Staff"] },
      }),
    );
    await pipeline.drain();

    // Act: a SCIM client makes a user with Rita's email and puts them in "Tallyfy Admins".
    const rita = await scim.call(
      "POST",
      "/Users",
      entraUser("rita.cho@example.com", { title: "Owner", active: true }),
    );
    const own = await scim.call("POST", "/Users", entraUser("sol.ng@example.com"));
    const admins = await scim.call("POST", "/Groups", {
      displayName: "Tallyfy Admins",
      members: [{ value: rita.body.id }, { value: own.body.id }],
    });
    const disabled = await scim.call(
      "PATCH",
      `/Users/${rita.body.id}`,
      patchOp({ op: "Replace", path: "active", value: false }),
    );
    await pipeline.drain();

    // Assess
    expect([rita.status, admins.status, disabled.status]).toEqual([201, 201, 200]);
    const member = pipeline.tallyfy.memberByEmail("rita.cho@example.com");
    expect(member?.role).toBe("standard");
    expect(member?.status).not.toBe("disabled");
    expect(member?.job_title ?? "").not.toBe("Owner");
    // The SCIM client's own user is its to manage: the same group makes them admin.
    expect(pipeline.tallyfy.memberByEmail("sol.ng@example.com")?.role).toBe("admin");
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.length).toBeGreaterThan(0);
    expect(letters.every((l) => l.errorType === "ForeignPersonError")).toBe(true);
    expect(letters[0]?.errorMessage).toMatch(
      /scim may not change rita\.cho@example\.com: canonical provides/,
    );
  });
});
