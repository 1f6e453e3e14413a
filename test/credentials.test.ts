import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { SecretsManagerTokenSource, TallyfyCredentialsError } from "../handlers/tallyfy/credentials.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { failure } from "./support/failure.js";

const SECRET_ID = "tallyfy/api";

let secrets: FakeSecretsManager;
let tallyfy: FakeTallyfy;

beforeEach(async () => {
  secrets = await FakeSecretsManager.start();
  tallyfy = await FakeTallyfy.start({
    tokens: ["pat-1"],
    clients: [{ clientId: "42", clientSecret: "client-secret-value", expiresIn: 3600 }],
  });
});

afterEach(async () => {
  await Promise.all([secrets.stop(), tallyfy.stop()]);
});

function tokenSource(now: () => number = Date.now) {
  return new SecretsManagerTokenSource({
    secretId: SECRET_ID,
    provider: new SecretsProvider({ clientConfig: secrets.clientConfig }),
    now,
  });
}

function clientWith(tokens: SecretsManagerTokenSource) {
  return new TallyfyClient({ organizationId: tallyfy.organizationId, baseUrl: tallyfy.url, tokens });
}

describe("personal access token", () => {
  it("reads the secret once per container and serves later calls from the cache", async () => {
    // Prepare
    secrets.secrets.set(SECRET_ID, JSON.stringify({ accessToken: "pat-1" }));
    const client = clientWith(tokenSource());

    // Act
    await client.members.list();
    await client.members.list();

    // Assess
    expect(secrets.reads).toEqual([SECRET_ID]);
    expect(tallyfy.requests.map((r) => r.status)).toEqual([200, 200]);
  });

  it("re-reads the secret after a 401 and carries on with the rotated token", async () => {
    // Prepare
    secrets.secrets.set(SECRET_ID, JSON.stringify({ accessToken: "pat-1" }));
    const client = clientWith(tokenSource());
    await client.members.list();
    tallyfy.expireToken("pat-1");
    tallyfy.acceptToken("pat-2");
    secrets.secrets.set(SECRET_ID, JSON.stringify({ accessToken: "pat-2" }));

    // Act
    await client.members.list();

    // Assess
    expect(secrets.reads).toHaveLength(2);
    expect(tallyfy.requests.map((r) => [r.status, r.headers.authorization])).toEqual([
      [200, "Bearer pat-1"],
      [401, "Bearer pat-1"],
      [200, "Bearer pat-2"],
    ]);
  });
});

describe("client credentials", () => {
  beforeEach(() => {
    secrets.secrets.set(
      SECRET_ID,
      JSON.stringify({ clientId: 42, clientSecret: "client-secret-value", tokenUrl: tallyfy.tokenUrl }),
    );
  });

  it("exchanges the credentials with a form-encoded request and caches the token", async () => {
    // Prepare
    const client = clientWith(tokenSource());

    // Act
    await client.members.list();
    await client.members.list();

    // Assess
    expect(tallyfy.issuedTokens).toHaveLength(1);
    const exchange = tallyfy.requests[0];
    expect(exchange?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(exchange?.body).toEqual({
      grant_type: "client_credentials",
      client_id: "42",
      client_secret: "client-secret-value",
    });
    expect(tallyfy.requests.slice(1).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${tallyfy.issuedTokens[0]}`,
      `Bearer ${tallyfy.issuedTokens[0]}`,
    ]);
  });

  it("asks for a new token shortly before the old one expires", async () => {
    // Prepare
    let clock = 1_000_000;
    const tokens = tokenSource(() => clock);

    // Act
    const first = await tokens.getToken();
    clock += 3_600_000 - 120_000;
    const beforeRenewal = await tokens.getToken();
    clock += 90_000;
    const renewed = await tokens.getToken();

    // Assess
    expect(beforeRenewal).toBe(first);
    expect(renewed).not.toBe(first);
    expect(tallyfy.issuedTokens).toEqual([first, renewed]);
  });

  it("fails permanently on rejected credentials without echoing them", async () => {
    // Prepare
    secrets.secrets.set(
      SECRET_ID,
      JSON.stringify({ clientId: "42", clientSecret: "wrong-secret-value", tokenUrl: tallyfy.tokenUrl }),
    );

    // Act
    const error = await failure(tokenSource().getToken());

    // Assess
    expect(error).toBeInstanceOf(TallyfyCredentialsError);
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toContain("HTTP 401 invalid_client");
    expect(error.message).not.toContain("wrong-secret-value");
  });
});

describe("bad secrets", () => {
  it.each([
    ["not JSON", "accessToken=pat-very-secret", "is not valid JSON"],
    ["the wrong shape", JSON.stringify({ token: "pat-very-secret" }), "it has: token"],
    ["an empty token", JSON.stringify({ accessToken: "" }), "it has: accessToken"],
    [
      "a token URL that is not a URL",
      JSON.stringify({ clientId: "1", clientSecret: "pat-very-secret", tokenUrl: "nope" }),
      "it has: clientId, clientSecret, tokenUrl",
    ],
  ])(
    "rejects a secret that is %s with a permanent error that never prints the value",
    async (_name, value, expected) => {
      // Prepare
      secrets.secrets.set(SECRET_ID, value);

      // Act
      const error = await failure(tokenSource().getToken());

      // Assess
      expect(error).toBeInstanceOf(TallyfyCredentialsError);
      expect(error).toMatchObject({ transient: false });
      expect(error.message).toContain(`secret ${SECRET_ID}`);
      expect(error.message).toContain(expected);
      expect(error.message).not.toContain("very-secret");
      expect(String(error.cause ?? "")).not.toContain("very-secret");
    },
  );

  it("reports a missing secret as permanent", async () => {
    // Prepare
    const tokens = tokenSource();

    // Act
    const error = await failure(tokens.getToken());

    // Assess
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toBe(`cannot read secret ${SECRET_ID}: ResourceNotFoundException`);
  });

  it("reports Secrets Manager throttling as transient", async () => {
    // Prepare
    secrets.secrets.set(SECRET_ID, JSON.stringify({ accessToken: "pat-1" }));
    secrets.failure = { type: "ThrottlingException", status: 400, times: 10 };
    const tokens = new SecretsManagerTokenSource({
      secretId: SECRET_ID,
      provider: new SecretsProvider({ clientConfig: { ...secrets.clientConfig, maxAttempts: 1 } }),
    });

    // Act
    const error = await failure(tokens.getToken());

    // Assess
    expect(error).toBeInstanceOf(TallyfyCredentialsError);
    expect(error).toMatchObject({ transient: true });
    expect(error.message).toContain("ThrottlingException");
  });
});
