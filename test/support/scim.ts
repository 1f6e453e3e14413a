/** A SCIM client for the tests: requests to the loopback endpoint, and the fixtures replayed with our ids. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SCIM_TOKEN = "scim-test-token";
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export interface ScimAnswer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read SCIM JSON freely.
  readonly body: any;
}

export interface Fixture {
  readonly httpMethod: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export function scimClient(baseUrl: string, token = SCIM_TOKEN) {
  const call = async (
    method: string,
    resource: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ScimAnswer> => {
    const response = await fetch(`${baseUrl}${resource}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/scim+json",
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    /**
     * Sends a fixture as its identity provider sent it (method, path, body and headers, but our
     * token), with its resource ids replaced by ours.
     */
    async replay(name: string, ids: Readonly<Record<string, string>> = {}): Promise<ScimAnswer> {
      const fixture = readFixture(name, ids);
      const resource = fixture.path.replace(/^.*\/v2/, "");
      const { Authorization: _token, ...headers } = fixture.headers;
      return call(fixture.httpMethod, resource, fixture.body ?? undefined, headers);
    },
  };
}

export function readFixture(name: string, ids: Readonly<Record<string, string>> = {}): Fixture {
  let text = readFileSync(path.join(fixtures, `${name}.json`), "utf8");
  for (const [theirs, ours] of Object.entries(ids)) text = text.replaceAll(theirs, ours);
  return JSON.parse(text) as Fixture;
}

/** A User body as Entra ID sends it on create. */
export function entraUser(userName: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const [local = "x"] = userName.split("@");
  const [given = "Given", family = "Family"] = local
    .split(".")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1));
  return {
    schemas: [
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    externalId: local,
    userName,
    active: true,
    emails: [{ primary: true, type: "work", value: userName }],
    name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
    meta: { resourceType: "User" },
    roles: [],
    ...fields,
  };
}

/** A PatchOp body. */
export const patchOp = (...Operations: unknown[]) => ({
  schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  Operations,
});

/**
 * Wraps an AWS SDK client so its next `failures.left` sends of a matching command fail, as a
 * throttled or unreachable service would.
 */
export function failing<T extends object>(
  failures: { left: number },
  matches: (command: unknown) => boolean = () => true,
) {
  return (client: T): T =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "send") return value;
        return (command: unknown) => {
          if (failures.left > 0 && matches(command)) {
            failures.left--;
            return Promise.reject(
              Object.assign(new Error("Service Unavailable"), { name: "ServiceUnavailable" }),
            );
          }
          return (value as (c: unknown) => Promise<unknown>).call(target, command);
        };
      },
    });
}
