/**
 * AWS IAM Identity Center as an identity source: CloudTrail management events on the default
 * EventBridge bus, each read back from the Identity Store with the function's own role
 * (README "AWS IAM Identity Center").
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";
import type { IdentitySource } from "../../core/source.js";
import { translateIdentityCenterTrigger } from "./adapter.js";
import type { IdentityStoreReader } from "./client.js";
import { type IdentityCenterConfig, IdentityCenterConfigSchema } from "./config.js";
import { identityCenterDeployment } from "./deployment.js";
import { claimsIdentityCenter, triggerOf } from "./events.js";

/** An Identity Center event arrived but the source is not set up. Permanent until it is. */
export class IdentityCenterNotConfiguredError extends SyncError {
  public readonly transient = false;
}

const IdentityCenterEnvironmentSchema = z.object({
  /** The Identity Store API's endpoint: set only for the local fake. @default the region's */
  IDENTITY_STORE_ENDPOINT: z.url().optional(),
  /** Attempts of one call, retries of throttling and 5xx included. */
  IDENTITY_STORE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
});

/**
 * The Identity Store reader of a store, over one SDK client per container. The SDK is loaded on
 * first use, not on import: lib/ imports this module at synth, where no AWS client may be built.
 */
export interface IdentityCenterConnection {
  readonly reader: (identityStoreId: string) => Promise<IdentityStoreReader>;
}

export const identityCenterSource: IdentitySource<IdentityCenterConfig, IdentityCenterConnection> = {
  id: "identity-center",
  configSchema: IdentityCenterConfigSchema,
  deployment: identityCenterDeployment,

  recognise: claimsIdentityCenter,

  connect({ variables }) {
    const parsed = IdentityCenterEnvironmentSchema.safeParse(variables);
    if (!parsed.success) {
      throw new IdentityCenterNotConfiguredError(`environment: ${describeIssues(parsed.error)}`);
    }
    const { IDENTITY_STORE_ENDPOINT: endpoint, IDENTITY_STORE_MAX_ATTEMPTS: maxAttempts } = parsed.data;
    let loading: Promise<(storeId: string) => IdentityStoreReader> | undefined;
    return {
      reader: async (identityStoreId) => {
        loading ??= Promise.all([import("@aws-sdk/client-identitystore"), import("./client.js")]).then(
          ([sdk, client]) => {
            const api = new sdk.IdentitystoreClient({ maxAttempts, ...(endpoint ? { endpoint } : {}) });
            return (storeId) => new client.IdentityStoreReader(api, storeId);
          },
        );
        return (await loading)(identityStoreId);
      },
    };
  },

  async translate(json, { config, sourceConfig, connection, linked }) {
    const storeId = sourceConfig.identityStoreId;
    if (!storeId) {
      throw new IdentityCenterNotConfiguredError(
        'an Identity Center event arrived but "identity-center".identityStoreId is not set in the sync configuration',
      );
    }
    const trigger = triggerOf(json, storeId);
    const about = { kind: `identity-center.${trigger.kind}`, eventId: trigger.eventId };
    if (trigger.action === "ignore") return { status: "ignored", reason: trigger.reason, about };
    try {
      const translated = await translateIdentityCenterTrigger(trigger, {
        store: await connection().reader(storeId),
        config,
        identityCenter: sourceConfig,
        linked,
      });
      if ("ignored" in translated) return { status: "ignored", reason: translated.ignored, about };
      if ("departed" in translated) return { status: "departed", ...translated.departed, about };
      if ("groupsDeleted" in translated)
        return { status: "groups-deleted", ...translated.groupsDeleted, about };
      return { status: "events", ...translated, about };
    } catch (error) {
      throw Object.assign(error as object, { eventId: trigger.eventId });
    }
  },
};
