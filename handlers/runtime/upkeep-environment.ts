/**
 * The subscription function's dependencies from its environment: each webhook source's URL, secret and credential (ids, never values).
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import type { SyncConfig } from "../core/config.js";
import { webhookVariable } from "../core/source.js";
import { parseSyncConfig } from "../sources/configs.js";
import { SUBSCRIBING_SOURCES } from "../sources/subscribers.js";
import { directoryFrom, parseEnvironment, sqsClient, syncConfigDocument } from "./function-environment.js";
import { IngestQueue } from "./queues.js";
import { sourceConnections } from "./source-connections.js";
import { secretTokens } from "./token-secret.js";
import type { UpkeepDeps } from "./upkeep-handler.js";

const UpkeepEnvironmentSchema = z.object({
  SYNC_CONFIG: z.string().optional(),
  DIRECTORY_TABLE_NAME: z.string().min(3),
  INGEST_QUEUE_URL: z.url(),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

export function upkeepDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): UpkeepDeps {
  const vars = parseEnvironment(UpkeepEnvironmentSchema, env);
  const directory = directoryFrom(vars.DIRECTORY_TABLE_NAME);
  const provider = new SecretsProvider();
  let config: SyncConfig | undefined;
  return {
    config: () => {
      config ??= parseSyncConfig(syncConfigDocument(vars.SYNC_CONFIG));
      return config;
    },
    sources: SUBSCRIBING_SOURCES,
    connection: sourceConnections(env),
    state: (source) => directory.state(source),
    webhook: async (source) => {
      const url = env[webhookVariable(source, "URL")];
      const secretId = env[webhookVariable(source, "SECRET_ID")];
      if (!url || !secretId) return undefined;
      const [secret] = await secretTokens(provider, secretId, vars.SECRET_MAX_AGE_SECONDS)(false);
      return secret ? { url, secret } : undefined;
    },
    ingest: new IngestQueue(sqsClient(), vars.INGEST_QUEUE_URL),
  };
}
