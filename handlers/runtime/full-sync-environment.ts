/**
 * The full-sync function's engine from its environment: the table, the reconcile queue, the report bucket, Tallyfy and each listing source, each at the run's share of its budget.
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import * as z from "zod";
import type { AnyIdentitySource } from "../core/source.js";
import { DynamoScimStore } from "../directory/scim-store.js";
import { FullSync } from "../full-sync/full-sync.js";
import { s3ReportWriter } from "../full-sync/report-bucket.js";
import { FullSyncStore } from "../full-sync/store.js";
import { parseSyncConfig, SOURCES } from "../sources/index.js";
import { scimSource } from "../sources/scim/index.js";
import type { GroupRecord, UserRecord } from "../sources/scim/store.js";
import { readSnapshot } from "../tallyfy/drift.js";
import {
  directoryFrom,
  documentClient,
  parseEnvironment,
  sqsClient,
  syncConfigDocument,
} from "./function-environment.js";
import { logger, metrics } from "./observability.js";
import { ReconcileQueue } from "./queues.js";
import { sourceConnections } from "./source-connections.js";
import { tallyfyClientFrom, tallyfyVariables } from "./tallyfy-environment.js";

export const FullSyncEnvironmentSchema = z.object({
  SYNC_CONFIG: z.string().optional(),
  RECONCILE_QUEUE_URL: z.url(),
  DEPARTURES_QUEUE_URL: z.url().optional(),
  DIRECTORY_TABLE_NAME: z.string().min(3),
  /** The bucket each run's drift report is written to. */
  REPORT_BUCKET_NAME: z.string().min(3),
  // TALLYFY_REQUESTS_PER_MINUTE is the full sync's share of the budget: events keep the rest.
  ...tallyfyVariables,
  /** The most departures one run applies, as a share of a source's active people. */
  FULL_SYNC_MAX_DEPARTURE_SHARE: z.coerce.number().gt(0).max(1).default(0.05),
});

/** The engine, built anew each invocation over clients kept for the container's life. */
export function fullSyncFromEnvironment(env: NodeJS.ProcessEnv = process.env): () => FullSync {
  const vars = parseEnvironment(FullSyncEnvironmentSchema, env);
  const config = parseSyncConfig(syncConfigDocument(vars.SYNC_CONFIG));
  const dynamo = new DynamoDBClient({});
  const db = documentClient(dynamo);
  const directory = directoryFrom(vars.DIRECTORY_TABLE_NAME, dynamo);
  const store = new FullSyncStore(db, vars.DIRECTORY_TABLE_NAME);
  const queue = new ReconcileQueue(sqsClient(), vars.RECONCILE_QUEUE_URL, vars.DEPARTURES_QUEUE_URL);
  const tallyfy = tallyfyClientFrom(vars);
  // An emulator on loopback (local runs) serves buckets by path, not by host name.
  const s3 = new S3Client({ forcePathStyle: env.AWS_ENDPOINT_URL_S3 !== undefined });
  const writeReport = s3ReportWriter(s3, vars.REPORT_BUCKET_NAME);
  const connections = sourceConnections(env);
  // The SCIM source lists what the SCIM endpoint stored, in this same table.
  const scimStore = new DynamoScimStore<UserRecord, GroupRecord>(db, vars.DIRECTORY_TABLE_NAME);
  const connection = (source: AnyIdentitySource) =>
    source.id === scimSource.id ? scimStore : connections(source);
  return () =>
    new FullSync({
      queue,
      directory,
      store,
      sources: SOURCES,
      connection,
      config,
      tallyfy: () => readSnapshot(tallyfy),
      writeReport,
      maxDepartureShare: vars.FULL_SYNC_MAX_DEPARTURE_SHARE,
      onMetric: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
      log: (message, detail) => logger.info(message, detail),
    });
}
