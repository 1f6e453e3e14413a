/**
 * What every function's environment holds and builds: reading and checking its variables, the
 * variables the pipeline's functions share, the configuration, and the AWS clients.
 */

import { readFileSync } from "node:fs";
import path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { SYNC_CONFIG_FILE } from "../contracts/configuration.js";
import type { SyncConfig } from "../core/config.js";
import { describeIssues } from "../core/issues.js";
import { Directory } from "../directory/directory.js";
import { parseSyncConfig } from "../sources/configs.js";

/** A required variable is missing or malformed: the function cannot start. */
export class EnvironmentError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

export function parseEnvironment<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new EnvironmentError(`environment: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * A SQS client that sends to the queue URL's own endpoint in AWS, and to `AWS_ENDPOINT_URL_SQS`
 * when that is set (local runs), whatever host the emulator puts in its queue URLs.
 */
export function sqsClient(): SQSClient {
  return new SQSClient(process.env.AWS_ENDPOINT_URL_SQS ? { useQueueUrlAsEndpoint: false } : {});
}

export const commonVariables = {
  SYNC_CONFIG: z.string().optional(),
  /** The FIFO queue of reconcile messages. */
  RECONCILE_QUEUE_URL: z.url(),
  /** The departures lane (core/reconcile-message.ts `urgent`); unset: everything on the reconcile queue. */
  DEPARTURES_QUEUE_URL: z.url().optional(),
  /** The desired-state directory's DynamoDB table. */
  DIRECTORY_TABLE_NAME: z.string().min(3),
  DEAD_LETTER_QUEUE_URL: z.url(),
  /** Must equal the source queue's redrive `maxReceiveCount`. */
  MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).max(1000).default(5),
};

/** Parses the configuration once; an invalid one throws on every call, so each record says why. */
export function lazyConfig(json: string | undefined): () => SyncConfig {
  let config: SyncConfig | undefined;
  return () => {
    config ??= parseSyncConfig(syncConfigDocument(json));
    return config as SyncConfig;
  };
}

/**
 * The configuration document: in Lambda the file the stack bundled beside the handler, or
 * `SYNC_CONFIG` (a stack deployed before the file, and local runs and tests). In Lambda without
 * either the function refuses to start: the defaults (no member domains, no role groups, no
 * mappings) would make every address a member and take every mapped role and group away.
 */
export function syncConfigDocument(
  fromEnvironment: string | undefined,
  taskRoot = process.env.LAMBDA_TASK_ROOT,
): string | undefined {
  if (!taskRoot) return fromEnvironment;
  try {
    return readFileSync(path.join(taskRoot, SYNC_CONFIG_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    if (fromEnvironment !== undefined) return fromEnvironment;
    throw new EnvironmentError(
      `the sync configuration is missing: no ${SYNC_CONFIG_FILE} beside the handler and no SYNC_CONFIG`,
    );
  }
}

/** The directory's table, through `AWS_ENDPOINT_URL_DYNAMODB` when that is set (local runs). */
export function directoryFrom(tableName: string, client: DynamoDBClient = new DynamoDBClient({})): Directory {
  return new Directory(documentClient(client), tableName);
}

/** A document client as the directory's table is written: attributes left undefined are left out. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
