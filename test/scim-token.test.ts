/**
 * The SCIM bearer token as the README's rotation steps use it: read from the Secrets Manager
 * stand-in, a plain token or `{"token", "previousToken"}`, a new token accepted at once, and a
 * secret holding neither logged as an error, never a silent refusal of every request.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createScimHandler } from "../handlers/runtime/scim-handler.js";
import { FRESH_READ_INTERVAL_MS, secretTokens } from "../handlers/runtime/token-secret.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { type LocalScimServer, startScimServer } from "../local/scim-server.js";

const SECRET_ID = "scim/token";
let secrets: FakeSecretsManager;
let server: LocalScimServer;
/** The function's clock: the fresh-read interval is measured on it. */
let clock = 0;
const wait = (ms: number) => {
  clock += ms;
};

beforeEach(async () => {
  secrets = await FakeSecretsManager.start();
  // Discovery requests touch neither the table nor the queue: these clients are never called.
  const handler = createScimHandler({
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
    tableName: "unused",
    sqs: new SQSClient({ region: "us-east-1" }),
    ingestQueueUrl: "https://sqs.us-east-1.amazonaws.com/1/unused",
    tokens: secretTokens(new SecretsProvider({ clientConfig: secrets.clientConfig }), SECRET_ID, 300),
    now: () => Date.now() + clock,
  });
  server = await startScimServer(handler);
});

afterEach(async () => {
  await Promise.all([server.stop(), secrets.stop()]);
});

async function statusWith(token: string): Promise<number> {
  const response = await fetch(`${server.url}/ServiceProviderConfig`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  await response.text();
  return response.status;
}

it("takes a plain token, then both tokens of a rotation, then the new one alone, each within the fresh-read interval", async () => {
  // Prepare
  secrets.secrets.set(SECRET_ID, "old-token");

  // Act: a scanner's wrong token has just used the fresh read
  const plain = [await statusWith("old-token"), await statusWith("wrong")];
  secrets.secrets.set(SECRET_ID, JSON.stringify({ token: "new-token", previousToken: "old-token" }));
  const tooSoon = await statusWith("new-token");
  wait(FRESH_READ_INTERVAL_MS);
  const rotating = [await statusWith("new-token"), await statusWith("old-token")];
  secrets.secrets.set(SECRET_ID, "new-token");
  const cachedOld = await statusWith("old-token");
  const cachedNew = await statusWith("new-token");
  // Any token that does not match, once the interval has passed, makes the function read again.
  wait(FRESH_READ_INTERVAL_MS);
  await statusWith("wrong");
  const oldAfterFresh = await statusWith("old-token");
  const newAfterFresh = await statusWith("new-token");

  // Assess
  expect(plain).toEqual([200, 401]);
  expect(tooSoon).toBe(401);
  expect(rotating).toEqual([200, 200]);
  // The cached copy holds both until the secret is read again.
  expect([cachedOld, cachedNew]).toEqual([200, 200]);
  expect([oldAfterFresh, newAfterFresh]).toEqual([401, 200]);
});

it("answers 503 when the secret holds no token, naming the secret and never its value", async () => {
  // Prepare
  secrets.secrets.set(SECRET_ID, JSON.stringify({ tok: "s3cret-value" }));

  // Act
  const response = await fetch(`${server.url}/ServiceProviderConfig`, {
    headers: { Authorization: "Bearer s3cret-value" },
  });
  const body = await response.text();

  // Assess
  expect(response.status).toBe(503);
  expect(body).not.toContain("s3cret-value");
  await expect(
    secretTokens(new SecretsProvider({ clientConfig: secrets.clientConfig }), SECRET_ID, 300)(false),
  ).rejects.toThrow(`secret ${SECRET_ID} must hold a token, or {"token", "previousToken"}; it has: tok`);
});
