/**
 * The sources' configuration schemas, without the sources' code: all a function that only reads
 * the sync configuration (apply) needs, so its bundle carries no source's clients or event
 * parsers (README "Performance", cold start). `index.ts` registers each source with the same
 * schema object; test/architecture.test.ts holds the two lists equal.
 */
import { composeConfigSchema, parseConfig, type SyncConfig } from "../core/config.js";
import { Auth0ConfigSchema } from "./auth0/config.js";
import { EntraConfigSchema } from "./entra/config.js";
import { GoogleConfigSchema } from "./google/config.js";
import { IdentityCenterConfigSchema } from "./identity-center/config.js";
import { OktaConfigSchema } from "./okta/config.js";

/** Each source's key of the sync configuration, by source id. */
export const SOURCE_CONFIG_SCHEMAS = {
  okta: OktaConfigSchema,
  auth0: Auth0ConfigSchema,
  "identity-center": IdentityCenterConfigSchema,
  entra: EntraConfigSchema,
  google: GoogleConfigSchema,
};

/** The whole sync configuration: the core keys plus one key per source that has a configuration. */
export const SyncConfigSchema = composeConfigSchema(SOURCE_CONFIG_SCHEMAS);

/** Parses `SYNC_CONFIG` (or any configuration document); the error names every bad key. */
export function parseSyncConfig(json: string | undefined, origin = "SYNC_CONFIG"): SyncConfig {
  return parseConfig(SyncConfigSchema, json, origin);
}
