/**
 * Keys that name a prototype, at any depth of any value or path, never change the process or
 * another person. Random PATCH operations put `__proto__`, `constructor` or `prototype` (in any
 * case, as a dotted, URN or nested key, or in the path) at random depths; each must be refused,
 * `Object.prototype` and `Array.prototype` must keep their properties, and the other user's
 * stored, queued and applied values must stay as they were.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findUntrustedJsonProblem,
  guardingPrototypes,
  namesInheritedMember,
  PrototypeChangedError,
} from "../handlers/core/untrusted-json.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";
import { entraUser, SCIM_TOKEN, scimClient } from "./support/scim.js";

const HOSTILE = [
  "__proto__",
  "constructor",
  "prototype",
  "__PROTO__",
  "Constructor",
  "PROTOTYPE",
  // Members every object or array inherits: a walk steps into the shared function (GHSA-2mhw-wcx5-v3xj).
  "toString",
  "valueOf",
  "hasOwnProperty",
  "map",
  "push",
];
const BENIGN = ["name", "roles", "title", "emails", "givenName", "value", "primary"];

/** An object with an own key, even `__proto__`, which an object literal would take as its prototype. */
function own(key: string, value: unknown): Record<string, unknown> {
  return Object.defineProperty({}, key, { value, enumerable: true, writable: true, configurable: true });
}

const hostileKey = fc
  .tuple(
    fc.array(fc.constantFrom(...BENIGN), { maxLength: 3 }),
    fc.constantFrom(...HOSTILE),
    fc.array(fc.constantFrom(...BENIGN), { maxLength: 3 }),
    fc.constantFrom(".", ":"),
  )
  .map(([before, hostile, after, separator]) => [...before, hostile, ...after].join(separator));

const payload = fc.constantFrom<unknown>(
  [{ value: "admin", primary: true }],
  "admin",
  { roles: [{ value: "admin" }] },
  1,
);

/** A value holding the hostile key under 0 to 5 benign ones, some of them in arrays. */
const hostileValue = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom(...BENIGN), fc.boolean()), { maxLength: 5 }), hostileKey, payload)
  .map(([outer, key, inner]) =>
    outer.reduceRight<unknown>(
      (value, [name, inArray]) => own(name, inArray ? [value] : value),
      own(key, inner),
    ),
  );

const operation = fc.oneof(
  fc.record({
    op: fc.constantFrom("add", "replace", "Add", "Replace"),
    path: fc.option(
      fc.constantFrom("name", "title", "roles", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
      { nil: undefined },
    ),
    value: hostileValue,
  }),
  fc.record({
    op: fc.constantFrom("add", "replace", "remove"),
    path: fc.oneof(
      hostileKey,
      hostileKey.map((key) => `emails[${key} eq "x"].value`),
    ),
    value: payload,
  }),
);

/** The own properties of both prototypes, and of each function they hold. */
const prototypes = () =>
  [Object.prototype, Array.prototype].flatMap((proto) =>
    Object.getOwnPropertyNames(proto).flatMap((name) => {
      const member = Object.getOwnPropertyDescriptor(proto, name)?.value;
      const own = typeof member === "function" ? Object.getOwnPropertyNames(member) : [];
      return [name, ...own.map((m) => `${name}.${m}`)];
    }),
  );

describe("a PATCH with hostile key segments at random depths", () => {
  let pipeline: TestPipeline;
  let scim: ReturnType<typeof scimClient>;
  let annId: string;

  beforeAll(async () => {
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN] } });
    scim = scimClient(pipeline.scimUrl ?? "");
    annId = (await scim.call("POST", "/Users", entraUser("ann.lee@example.com"))).body.id;
    await scim.call("POST", "/Users", entraUser("bo.kim@example.com", { title: "Chef" }));
    await pipeline.drain();
  });

  afterAll(async () => {
    await pipeline.stop();
  });

  it("is refused, leaves the prototypes alone, and changes no other user's stored, queued or applied values", async () => {
    // Prepare
    const before = prototypes();
    const bo = async () => ({
      scim: (
        await scim.call("GET", `/Users?filter=${encodeURIComponent('userName eq "bo.kim@example.com"')}`)
      ).body.Resources,
      directory: await pipeline.directory.person("bo.kim@example.com"),
      tallyfy: pipeline.tallyfy.memberByEmail("bo.kim@example.com"),
    });
    const boBefore = await bo();
    const received = pipeline.tallies.ingest.reduce((sum, t) => sum + t.received, 0);

    // Act
    await fc.assert(
      fc.asyncProperty(operation, async (op) => {
        const answer = await scim.call(
          "PATCH",
          `/Users/${annId}`,
          JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [op] }),
        );
        expect(answer.status).toBe(400);
        expect(prototypes()).toEqual(before);
      }),
      { numRuns: 150 },
    );
    await pipeline.drain();

    // Assess
    expect(({} as { roles?: unknown }).roles).toBeUndefined();
    expect(await bo()).toEqual(boBefore);
    expect(pipeline.tallies.ingest.reduce((sum, t) => sum + t.received, 0)).toBe(received);
    expect(pipeline.tallyfy.memberByEmail("ann.lee@example.com")?.role).toBe("standard");
  });
});

describe("the untrusted-JSON check", () => {
  const json = fc.jsonValue({ maxDepth: 6 }).filter((v) => findUntrustedJsonProblem(v, 100) === undefined);

  it("finds a hostile key wherever it is put in any JSON value", () => {
    // Prepare, Act, Assess
    fc.assert(
      fc.property(
        json,
        hostileKey,
        fc.array(fc.constantFrom(...BENIGN), { maxLength: 8 }),
        (value, key, path) => {
          const planted = path.reduceRight<unknown>(
            (inner, name) => own(name, [inner, value]),
            own(key, value),
          );
          expect(findUntrustedJsonProblem(planted, 100, namesInheritedMember)?.kind).toBe("forbiddenKey");
          // The rule every ingest body meets: the three names that lead to a prototype, in any case.
          const leadsToPrototype = /__proto__|constructor|prototype/i.test(key);
          expect(findUntrustedJsonProblem(planted, 100)?.kind).toBe(
            leadsToPrototype ? "forbiddenKey" : undefined,
          );
        },
      ),
    );
  });

  it("bounds nesting without recursing, so a value deeper than the stack is refused, not a crash", () => {
    // Prepare
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];

    // Act
    const problem = findUntrustedJsonProblem(deep, 32);

    // Assess
    expect(problem?.kind).toBe("tooDeep");
  });

  it("undoes any change a guarded call makes to a prototype, and says so", () => {
    // Prepare
    const pollute = () => {
      (Object.prototype as Record<string, unknown>).polluted = true;
      (Array.prototype as unknown as Record<string, unknown>).tainted = true;
      (Object.prototype.toString as unknown as Record<string, unknown>).marked = true;
    };

    // Act
    const thrown = (() => {
      try {
        guardingPrototypes(pollute);
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(thrown).toBeInstanceOf(PrototypeChangedError);
    expect([...(thrown as PrototypeChangedError).keys].sort()).toEqual(["marked", "polluted", "tainted"]);
    expect((Object.prototype.toString as unknown as { marked?: unknown }).marked).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(([] as unknown as { tainted?: unknown }).tainted).toBeUndefined();
  });
});
