/**
 * The SCIM function's dependencies from its environment: the table, the ingest queue, and the secret holding the bearer token (its id, never its value).
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { parseEnvironment, sqsClient } from "./function-environment.js";
import type { ScimHandlerDeps } from "./scim-handler.js";
import { secretTokens } from "./token-secret.js";

const ScimEnvironmentSchema = z.object({
  DIRECTORY_TABLE_NAME: z.string().min(3),
  INGEST_QUEUE_URL: z.url(),
  /** The secret holding the bearer token (its id, never its value). */
  SCIM_TOKEN_SECRET_ID: z.string().min(1),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

/** The SCIM function's dependencies, from the environment the stack gives it. */
export function scimDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ScimHandlerDeps {
  const vars = parseEnvironment(ScimEnvironmentSchema, env);
  return {
    db: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    tableName: vars.DIRECTORY_TABLE_NAME,
    sqs: sqsClient(),
    ingestQueueUrl: vars.INGEST_QUEUE_URL,
    tokens: secretTokens(new SecretsProvider(), vars.SCIM_TOKEN_SECRET_ID, vars.SECRET_MAX_AGE_SECONDS),
  };
}
