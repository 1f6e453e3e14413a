/**
 * The identity source registry: one line per source. The ingest handler asks it which source a
 * body belongs to. The configuration schema of these sources is in `configs.ts`, with the same
 * schema objects, for the functions that need no source's code.
 * The canonical source reads any body the others do not claim, so it stays last.
 */
import { composeConfigSchema, parseConfig, type SyncConfig } from "../core/config.js";
import type { AnyIdentitySource } from "../core/source.js";
import { parseSyncConfig as parseRegistered, SyncConfigSchema } from "./configs.js";

export type { SyncConfig };
export { SyncConfigSchema };

import { auth0Source } from "./auth0/index.js";
import { canonicalSource } from "./canonical/index.js";
import { entraSource } from "./entra/index.js";
import { googleSource } from "./google/index.js";
import { identityCenterSource } from "./identity-center/index.js";
import { oktaSource } from "./okta/index.js";
import { scimSource } from "./scim/index.js";

export const SOURCES: readonly AnyIdentitySource[] = [
  oktaSource,
  scimSource,
  auth0Source,
  identityCenterSource,
  entraSource,
  googleSource,
  canonicalSource,
];

/** The whole sync configuration: the core keys plus one key per source that has a configuration. */
export function syncConfigSchema(sources: readonly AnyIdentitySource[] = SOURCES) {
  return composeConfigSchema(
    Object.fromEntries(sources.flatMap((s) => (s.configSchema ? [[s.id, s.configSchema]] : []))),
  );
}

/** Parses `SYNC_CONFIG` (or any configuration document); the error names every bad key. */
export function parseSyncConfig(
  json: string | undefined,
  origin = "SYNC_CONFIG",
  sources: readonly AnyIdentitySource[] = SOURCES,
): SyncConfig {
  return sources === SOURCES
    ? parseRegistered(json, origin)
    : parseConfig(syncConfigSchema(sources), json, origin);
}
