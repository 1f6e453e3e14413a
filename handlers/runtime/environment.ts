/**
 * Builds the apply function's dependencies from its environment variables (set by the CDK stack),
 * and what the other functions share with it. No secret is ever in the environment: only the
 * secret's id. It imports the sources' configuration schemas only, never their code, so the apply
 * bundle stays without it (`ingest-environment.ts` has what the sources need).
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { SyncConfig } from "../core/config.js";
import { Directory } from "../directory/directory.js";
import { Pacer } from "../shared/pacer.js";
import { parseSyncConfig } from "../sources/configs.js";
import { TallyfyClient } from "../tallyfy/client.js";
import { SecretsManagerTokenSource } from "../tallyfy/credentials.js";
import { MemberDirectory } from "../tallyfy/member-directory.js";
import { Reconciler } from "../tallyfy/reconciler.js";
import type { ApplyDeps } from "./apply-handler.js";
import { count, logger, MetricName } from "./observability.js";
import { DeadLetterQueue, ReconcileQueue } from "./queues.js";
import { parseEnvironment as parse, sqsClient } from "./variables.js";

export const commonVariables = {
  SYNC_CONFIG: z.string().optional(),
  /** The FIFO queue of reconcile messages. */
  RECONCILE_QUEUE_URL: z.url(),
  /** The desired-state directory's DynamoDB table. */
  DIRECTORY_TABLE_NAME: z.string().min(3),
  DEAD_LETTER_QUEUE_URL: z.url(),
  /** Must equal the source queue's redrive `maxReceiveCount`. */
  MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).max(1000).default(5),
};

/** What every function that calls Tallyfy reads: the apply functions and the full sync. */
export const tallyfyVariables = {
  TALLYFY_SECRET_ID: z.string().min(1),
  TALLYFY_ORG_ID: z.string().min(1),
  TALLYFY_API_URL: z.url().default("https://go.tallyfy.com/api"),
  /** Per-request timeout of Tallyfy calls, milliseconds. */
  TALLYFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  /** This container's share of the token's Tallyfy budget, requests a minute; unset: no pacing. */
  TALLYFY_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
};

export const ApplyEnvironmentSchema = z.object({ ...commonVariables, ...tallyfyVariables });

/** Parses the configuration once; an invalid one throws on every call, so each record says why. */
export function lazyConfig(json: string | undefined): () => SyncConfig {
  let config: SyncConfig | undefined;
  return () => {
    config ??= parseSyncConfig(json);
    return config as SyncConfig;
  };
}

export function applyDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ApplyDeps {
  const vars = parse(ApplyEnvironmentSchema, env);
  const sqs = sqsClient();
  const config = lazyConfig(vars.SYNC_CONFIG);
  let reconciler: Reconciler | undefined;
  return {
    config,
    deadLetters: new DeadLetterQueue(sqs, vars.DEAD_LETTER_QUEUE_URL),
    maxReceiveCount: vars.MAX_RECEIVE_COUNT,
    reconciler: () => {
      reconciler ??= buildReconciler({
        config: config(),
        client: tallyfyClientFrom(vars),
        directory: directoryFrom(vars.DIRECTORY_TABLE_NAME),
        queue: new ReconcileQueue(sqs, vars.RECONCILE_QUEUE_URL),
      });
      return reconciler;
    },
  };
}

/**
 * The Tallyfy client of a function that calls Tallyfy (apply, full sync), from its
 * `tallyfyVariables`: the token read from the secret, paced at the function's share, 429s counted.
 */
export function tallyfyClientFrom(vars: z.output<z.ZodObject<typeof tallyfyVariables>>): TallyfyClient {
  return new TallyfyClient({
    organizationId: vars.TALLYFY_ORG_ID,
    baseUrl: vars.TALLYFY_API_URL,
    timeoutMs: vars.TALLYFY_TIMEOUT_MS,
    tokens: new SecretsManagerTokenSource({
      secretId: vars.TALLYFY_SECRET_ID,
      provider: new SecretsProvider(),
      maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
    }),
    onResponse: ({ status }) => {
      if (status === 429) count(MetricName.TallyfyThrottled);
    },
    pacer: vars.TALLYFY_REQUESTS_PER_MINUTE
      ? new Pacer({ perMinute: vars.TALLYFY_REQUESTS_PER_MINUTE })
      : undefined,
  });
}

/** The reconciler with its per-container caches and metrics hooks. */
export function buildReconciler(parts: {
  config: SyncConfig;
  client: TallyfyClient;
  directory: Directory;
  queue: ReconcileQueue;
  /** Also told when Tallyfy keeps a guest's old profile (the local runner lists them). */
  onGuestProfileNotApplied?: (email: string, fields: readonly string[]) => void;
}): Reconciler {
  const { onGuestProfileNotApplied, ...deps } = parts;
  return new Reconciler({
    ...deps,
    members: new MemberDirectory(parts.client),
    onWrite: (operation) => count(MetricName.TallyfyWrites, { name: "operation", value: operation }),
    onGuestProfileNotApplied: (email, fields) => {
      // Tallyfy's contract notes say guest profile fields may be accepted and discarded.
      logger.warn("Tallyfy kept the guest's old profile values", { email, fields });
      count(MetricName.GuestProfileNotApplied);
      onGuestProfileNotApplied?.(email, fields);
    },
  });
}

/** The directory's table, through `AWS_ENDPOINT_URL_DYNAMODB` when that is set (local runs). */
export function directoryFrom(tableName: string, client: DynamoDBClient = new DynamoDBClient({})): Directory {
  return new Directory(documentClient(client), tableName);
}

/** A document client as the directory's table is written: attributes left undefined are left out. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
