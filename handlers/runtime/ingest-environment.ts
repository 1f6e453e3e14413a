/**
 * Builds the ingest function's dependencies from its environment variables (set by the CDK stack),
 * and each source's clients, which the ingest, upkeep and full-sync functions share.
 */
import * as z from "zod";
import { SOURCES } from "../sources/index.js";
import {
  commonVariables,
  directoryFrom,
  lazyConfig,
  parseEnvironment as parse,
  sqsClient,
} from "./function-environment.js";
import type { IngestDeps } from "./ingest-handler.js";
import { DeadLetterQueue, IngestQueue, ReconcileQueue } from "./queues.js";
import { sourceConnections } from "./source-connections.js";

export const IngestEnvironmentSchema = z.object({
  ...commonVariables,
  /** The ingest queue itself, where a body with several events is split into one message each. */
  INGEST_QUEUE_URL: z.url(),
  // Each source reads its own variables when it connects (`sources/<id>/index.ts`).
});

export function ingestDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): IngestDeps {
  const vars = parse(IngestEnvironmentSchema, env);
  const sqs = sqsClient();
  return {
    config: lazyConfig(vars.SYNC_CONFIG),
    directory: directoryFrom(vars.DIRECTORY_TABLE_NAME),
    reconcile: new ReconcileQueue(sqs, vars.RECONCILE_QUEUE_URL, vars.DEPARTURES_QUEUE_URL),
    deadLetters: new DeadLetterQueue(sqs, vars.DEAD_LETTER_QUEUE_URL),
    maxReceiveCount: vars.MAX_RECEIVE_COUNT,
    ingestQueue: new IngestQueue(sqs, vars.INGEST_QUEUE_URL),
    sources: SOURCES,
    connection: sourceConnections(env),
  };
}
