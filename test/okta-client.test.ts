import { generateKeyPairSync } from "node:crypto";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OktaApiError, OktaAuthError, OktaClient } from "../handlers/sources/okta/client.js";
import {
  OktaCredentialsError,
  SecretsManagerOktaCredentials,
  StaticOktaCredentials,
} from "../handlers/sources/okta/credentials.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { failure } from "./support/failure.js";

const SECRET_ID = "okta/api";
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicKey = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const privateKey = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

let okta: FakeOkta;
let secrets: FakeSecretsManager;

beforeEach(async () => {
  okta = await FakeOkta.start({
    apiTokens: ["ssws-1"],
    serviceApps: [{ clientId: "0oaservice0000x1d7", publicKey }],
    groupsPageSize: 2,
  });
  secrets = await FakeSecretsManager.start();
});

afterEach(async () => {
  await Promise.all([okta.stop(), secrets.stop()]);
});

function clientFromSecret() {
  return new OktaClient({
    credentials: new SecretsManagerOktaCredentials({
      secretId: SECRET_ID,
      provider: new SecretsProvider({ clientConfig: secrets.clientConfig }),
    }),
  });
}

describe("OktaClient", () => {
  it("follows Link headers through every page of a user's groups", async () => {
    // Prepare
    const user = okta.addUser({ login: "a@example.com" });
    for (const name of ["A", "B", "C", "D", "E"]) okta.addToGroup(user.id, okta.addGroup(name).id);
    const client = new OktaClient({ credentials: new StaticOktaCredentials(okta.url, "ssws-1") });

    // Act
    const groups = await client.listUserGroups(user.id);

    // Assess
    expect(groups.map((g) => g.profile.name)).toEqual(["A", "B", "C", "D", "E"]);
    expect(okta.requests).toHaveLength(3);
  });

  it("refuses a stored listing cursor that points anywhere but the configured org, sending nothing", async () => {
    // Prepare: a cursor as a full run stores it, then altered to another host (a tampered run item).
    const other = await FakeOkta.start({ apiTokens: ["ssws-1"] });
    const client = new OktaClient({ credentials: new StaticOktaCredentials(okta.url, "ssws-1") });

    // Act
    const refused = await failure(client.listUsersPage(`${other.url}/api/v1/users?after=00u1&limit=200`));
    const followed = await client.listUsersPage(`${okta.url}/api/v1/users?limit=200`);
    await other.stop();

    // Assess: the token never left for the other host; a cursor of the org itself is followed.
    expect(refused).toMatchObject({ name: "OktaResponseError" });
    expect(other.requests).toEqual([]);
    expect(followed.users).toEqual([]);
    expect(okta.requests.map((r) => r.path)).toEqual(["/api/v1/users"]);
  });

  it("answers undefined for a deleted user and false for an unassigned app", async () => {
    // Prepare
    const user = okta.addUser({ login: "a@example.com" });
    const client = new OktaClient({ credentials: new StaticOktaCredentials(okta.url, "ssws-1") });

    // Act
    const deleted = await client.getUser("00unosuchuser000x1d7");
    const assigned = await client.isAssignedToApp("0oaapp", user.id);

    // Assess
    expect(deleted).toBeUndefined();
    expect(assigned).toBe(false);
  });

  it("hands a rate-limit reset too far off back to SQS at once, as a transient error", async () => {
    // Prepare
    okta.inject({
      status: 429,
      headers: { "X-Rate-Limit-Reset": String(Math.ceil(Date.now() / 1000) + 60) },
    });
    const sleeps: number[] = [];
    const client = new OktaClient({
      credentials: new StaticOktaCredentials(okta.url, "ssws-1"),
      maxRateLimitWaitMs: 20_000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // Act
    const error = await failure(client.getUser("00u1"));

    // Assess
    expect(error).toBeInstanceOf(OktaApiError);
    expect((error as InstanceType<typeof OktaApiError>).transient).toBe(true);
    expect(sleeps).toEqual([]);
  });

  it("waits a second for a 429 whose X-Rate-Limit-Reset is empty, as for one without the header", async () => {
    // Prepare
    okta.inject({ status: 429, headers: { "X-Rate-Limit-Reset": "" }, times: 1 });
    const sleeps: number[] = [];
    const client = new OktaClient({
      credentials: new StaticOktaCredentials(okta.url, "ssws-1"),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // Act
    await client.getUser("00u1");

    // Assess
    expect(sleeps).toEqual([1_000]);
  });

  it("stops retrying at the caller's deadline", async () => {
    // Prepare
    okta.inject({ status: 500 });
    const client = new OktaClient({ credentials: new StaticOktaCredentials(okta.url, "ssws-1") });

    // Act
    const error = await failure(client.getUser("00u1", { deadline: Date.now() + 600 }));

    // Assess
    expect(error.message).toMatch(/^Okta users.get: HTTP 500/);
    expect(okta.requests.length).toBeLessThanOrEqual(3);
  });
});

describe("the Okta secret", () => {
  it("uses an SSWS API token, and re-reads the secret once when Okta refuses it", async () => {
    // Prepare
    okta.addUser({ login: "a@example.com" }, { id: "00u1" });
    secrets.secrets.set(SECRET_ID, JSON.stringify({ orgUrl: okta.url, apiToken: "ssws-old" }));
    const client = clientFromSecret();
    await failure(client.getUser("00u1"));
    secrets.secrets.set(SECRET_ID, JSON.stringify({ orgUrl: okta.url, apiToken: "ssws-1" }));

    // Act
    const user = await client.getUser("00u1");

    // Assess
    expect(user?.profile.login).toBe("a@example.com");
    expect(okta.requests.map((r) => r.status)).toEqual([401, 401, 401, 200]);
  });

  it("fails permanently on a revoked token, without the token in the message", async () => {
    // Prepare
    secrets.secrets.set(SECRET_ID, JSON.stringify({ orgUrl: okta.url, apiToken: "ssws-revoked" }));

    // Act
    const error = await failure(clientFromSecret().getUser("00u1"));

    // Assess
    expect(error).toBeInstanceOf(OktaAuthError);
    expect((error as InstanceType<typeof OktaAuthError>).transient).toBe(false);
    expect(error.message).not.toContain("ssws-revoked");
  });

  it("gets a service app token with a signed private_key_jwt assertion and reuses it", async () => {
    // Prepare
    okta.addUser({ login: "a@example.com" }, { id: "00u1" });
    secrets.secrets.set(
      SECRET_ID,
      JSON.stringify({ orgUrl: okta.url, clientId: "0oaservice0000x1d7", privateKey, keyId: "key-1" }),
    );
    const client = clientFromSecret();

    // Act
    await client.getUser("00u1");
    const user = await client.getUser("00u1");

    // Assess
    expect(user?.id).toBe("00u1");
    expect(okta.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "POST /oauth2/v1/token 200",
      "GET /api/v1/users/00u1 200",
      "GET /api/v1/users/00u1 200",
    ]);
  });

  it("is refused by Okta when the assertion is signed with another key", async () => {
    // Prepare
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    secrets.secrets.set(
      SECRET_ID,
      JSON.stringify({ orgUrl: okta.url, clientId: "0oaservice0000x1d7", privateKey: other }),
    );

    // Act
    const error = await failure(clientFromSecret().getUser("00u1"));

    // Assess
    expect(error).toBeInstanceOf(OktaCredentialsError);
    expect(error.message).toMatch(/answered HTTP 401 invalid_client$/);
  });

  it("names the keys of a secret in the wrong shape, never its values", async () => {
    // Prepare
    secrets.secrets.set(SECRET_ID, JSON.stringify({ orgUrl: okta.url, token: "very-secret" }));

    // Act
    const error = await failure(clientFromSecret().getUser("00u1"));

    // Assess
    expect(error.message).toBe(
      `secret ${SECRET_ID} must hold {"orgUrl", "apiToken"} or {"orgUrl", "clientId", "privateKey"}; it has: orgUrl, token`,
    );
    expect((error as OktaCredentialsError).transient).toBe(false);
  });
});
