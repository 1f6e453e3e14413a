/**
 * Lambda entry point: the SCIM 2.0 endpoint (API Gateway, Lambda proxy integration).
 * Environment: DIRECTORY_TABLE_NAME, INGEST_QUEUE_URL, SCIM_TOKEN_SECRET_ID, SECRET_MAX_AGE_SECONDS.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { describeIssues } from "./core/issues.js";
import { createScimHandler, SecretsProvider, secretTokens } from "./runtime/scim-handler.js";

const ScimEnvironmentSchema = z.object({
  DIRECTORY_TABLE_NAME: z.string().min(3),
  INGEST_QUEUE_URL: z.url(),
  /** The secret holding the bearer token (its id, never its value). */
  SCIM_TOKEN_SECRET_ID: z.string().min(1),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

const parsed = ScimEnvironmentSchema.safeParse(process.env);
if (!parsed.success) throw new Error(`environment: ${describeIssues(parsed.error)}`);
const vars = parsed.data;

export const handler = createScimHandler({
  db: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  tableName: vars.DIRECTORY_TABLE_NAME,
  sqs: new SQSClient(process.env.AWS_ENDPOINT_URL_SQS ? { useQueueUrlAsEndpoint: false } : {}),
  ingestQueueUrl: vars.INGEST_QUEUE_URL,
  tokens: secretTokens(new SecretsProvider(), vars.SCIM_TOKEN_SECRET_ID, vars.SECRET_MAX_AGE_SECONDS),
});
