import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { TallyfyError } from "../handlers/tallyfy/errors.js";
import { GroupSchema, GuestSchema, listEnvelope, MemberSchema } from "../handlers/tallyfy/schemas.js";
import { parseErrorDetail } from "../handlers/tallyfy/transport.js";

const maybeNull = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const timestamp = fc
  .date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
  .map((d) => d.toISOString());
const roleInAnyCase = fc.constantFrom("admin", "Admin", "ADMIN", "standard", "Standard", "light", "Light");

/** A member as either the 2026 or the legacy docs show it. */
const memberJson = fc
  .record({
    id: fc.oneof(fc.nat(), fc.nat().map(String)),
    email: fc.emailAddress(),
    first_name: maybeNull(fc.string({ maxLength: 32 })),
    last_name: maybeNull(fc.string({ maxLength: 32 })),
    job_title: maybeNull(fc.string()),
    timezone: maybeNull(fc.constantFrom("UTC", "Europe/London", "America/New_York")),
    role: roleInAnyCase,
    status: fc.constantFrom("active", "invited", "disabled"),
    active: fc.boolean(),
    updated: timestamp,
    legacy: fc.boolean(),
  })
  .map(({ legacy, role, active, updated, ...rest }) =>
    legacy
      ? { ...rest, user_role: role, active, last_updated: updated }
      : { ...rest, role, is_active: active, updated_at: updated },
  );

const groupJson = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{32}$/),
  name: fc.string({ minLength: 1, maxLength: 200 }),
  description: maybeNull(fc.string()),
  members: fc.array(fc.oneof(fc.nat(), fc.nat().map(String))),
  guests: fc.array(fc.emailAddress()),
  last_updated: timestamp,
});

const guestJson = fc.record({
  id: fc.nat(),
  email: fc.emailAddress(),
  first_name: maybeNull(fc.string()),
  details: maybeNull(
    fc.record({
      status: fc.constantFrom("active", "disabled"),
      phone_1: maybeNull(fc.string({ maxLength: 20 })),
      associated_members: maybeNull(fc.array(fc.nat())),
      disabled_at: maybeNull(timestamp),
    }),
  ),
});

const links = fc.oneof(fc.constant([]), fc.record({ next: maybeNull(fc.webUrl()) }), fc.constant(undefined));

describe("response parsers", () => {
  it("parse any contract-valid member and normalise its role to lower case", () => {
    fc.assert(
      fc.property(memberJson, (json) => {
        // Act
        const member = MemberSchema.parse(json);

        // Assess
        const sentRole = "role" in json ? json.role : json.user_role;
        expect(member.role).toBe(sentRole.toLowerCase());
        expect(member.id).toBe(Number(json.id));
        expect(member.isActive).toBe("is_active" in json ? json.is_active : json.active);
      }),
    );
  });

  it("parse any contract-valid group and guest", () => {
    fc.assert(
      fc.property(groupJson, guestJson, (group, guest) => {
        // Act
        const parsedGroup = GroupSchema.parse(group);
        const parsedGuest = GuestSchema.parse(guest);

        // Assess
        expect(parsedGroup.members).toEqual(group.members.map(Number));
        expect(parsedGroup.description).toBe(group.description ?? "");
        expect(parsedGuest.disabled).toBe(
          Boolean(guest.details?.disabled_at) || guest.details?.status === "disabled",
        );
      }),
    );
  });

  it("parse any list envelope whatever form its pagination links take", () => {
    fc.assert(
      fc.property(fc.array(groupJson, { maxLength: 5 }), links, (data, pageLinks) => {
        // Act
        const parsed = listEnvelope(GroupSchema).parse({
          data,
          meta: { pagination: { total: data.length, current_page: 1, total_pages: 1, links: pageLinks } },
        });

        // Assess
        expect(parsed.data).toHaveLength(data.length);
      }),
    );
  });

  it("turn any error body, however odd, into a detail without throwing", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          // Act
          const detail = parseErrorDetail(text);

          // Assess
          expect(Array.isArray(detail.fieldErrors)).toBe(true);
          for (const line of detail.fieldErrors) expect(typeof line).toBe("string");
        },
      ),
    );
  });
});

describe("the client given garbage", () => {
  it("never throws anything but its own errors, whatever the body and status", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.anything()),
        fc.constantFrom(200, 201, 204, 400, 404, 409, 422, 429, 500),
        fc.constantFrom("list", "get", "invite", "groups", "guest"),
        async (body, status, call) => {
          // Prepare
          const text = status === 204 ? "" : typeof body === "string" ? body : safeStringify(body);
          const client = new TallyfyClient({
            organizationId: "org",
            baseUrl: "http://127.0.0.1:9/api",
            tokens: new StaticTokenSource("t"),
            retry: { maxRetries: 0 },
            fetch: async () => new Response(status === 204 ? null : text, { status }),
          });

          // Act
          let thrown: unknown;
          try {
            if (call === "list") await client.members.list();
            if (call === "get") await client.members.get(1);
            if (call === "invite")
              await client.members.invite({
                email: "a@b.co",
                firstName: "A",
                lastName: "B",
                role: "light",
                message: "m",
              });
            if (call === "groups") await client.groups.list();
            if (call === "guest") await client.guests.get("a@b.co");
          } catch (error) {
            thrown = error;
          }

          // Assess
          if (thrown !== undefined) expect(thrown).toBeInstanceOf(TallyfyError);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}
