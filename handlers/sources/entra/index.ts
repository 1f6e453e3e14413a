/**
 * Microsoft Entra ID as an identity source: Microsoft Graph change notifications for users and
 * groups, received by a small webhook function, each read back from Graph with an app
 * registration's client credentials (README "Microsoft Entra ID").
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import type { IdentitySource } from "../../core/source.js";
import { Pacer } from "../../shared/pacer.js";
import { readUser, translateGraphNotification } from "./adapter.js";
import { GraphClient } from "./client.js";
import { type EntraConfig, EntraConfigSchema } from "./config.js";
import { EntraNotConfiguredError, SecretsManagerGraphCredentials } from "./credentials.js";
import { entraDeployment } from "./deployment.js";
import { claimsEntra, parseQueuedNotification, receiveEntra } from "./events.js";
import { maintainGraphSubscriptions } from "./subscriptions.js";

const EntraEnvironmentSchema = z.object({
  /** The Graph credential's secret. */
  ENTRA_SECRET_ID: z.string().min(1).optional(),
  /** Per-request timeout of Graph calls, milliseconds. */
  ENTRA_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  /** This container's share of the Graph budget, requests a minute; unset: no pacing. */
  ENTRA_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  /** The tenant whose notifications the webhook accepts (the webhook function's only setting). */
  ENTRA_TENANT_ID: z.string().optional(),
});

export const entraSource: IdentitySource<EntraConfig, GraphClient> = {
  id: "entra",
  configSchema: EntraConfigSchema,
  deployment: entraDeployment,

  recognise: claimsEntra,

  connect({ variables, onResponse }) {
    const parsed = EntraEnvironmentSchema.safeParse(variables);
    if (!parsed.success) throw new EntraNotConfiguredError(`environment: ${describeIssues(parsed.error)}`);
    const vars = parsed.data;
    if (!vars.ENTRA_SECRET_ID) {
      throw new EntraNotConfiguredError(
        'a Graph notification arrived but ENTRA_SECRET_ID is not set: give the stack an Entra secret (README "Microsoft Entra ID")',
      );
    }
    return new GraphClient({
      credentials: new SecretsManagerGraphCredentials({
        secretId: vars.ENTRA_SECRET_ID,
        provider: new SecretsProvider(),
        maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
      }),
      timeoutMs: vars.ENTRA_TIMEOUT_MS,
      onResponse,
      pacer: vars.ENTRA_REQUESTS_PER_MINUTE
        ? new Pacer({ perMinute: vars.ENTRA_REQUESTS_PER_MINUTE })
        : undefined,
    });
  },

  receive: receiveEntra,

  maintainSubscriptions: maintainGraphSubscriptions,

  async *listUsers({ config, sourceConfig, connection, deadline, listedAt, runId }, cursor) {
    const client = connection();
    let next = cursor;
    do {
      const page = await client.listUsersPage(next, { deadline });
      const users = [];
      for (const user of page.users) {
        const state = await readUser(
          user.id,
          `full-sync:${runId}:${user.id}`,
          // No link lookup: a user out of scope is left out of the listing, which decides at its end.
          { client, config, entra: sourceConfig, now: () => Date.parse(listedAt) },
          { deadline },
        );
        if ("events" in state)
          users.push({ subject: user.id, events: state.events, warnings: state.warnings });
      }
      next = page.next;
      yield { users, cursor: next };
    } while (next);
  },

  async translate(json, { config, sourceConfig, connection, deadline, linked, state }) {
    const notification = parseQueuedNotification(json);
    const eventId = `${notification.subscriptionId}:${notification.resourceId ?? notification.lifecycleEvent}:${notification.receivedAt}`;
    const about = {
      kind: `entra.${notification.lifecycleEvent ?? `${notification.resourceType}.${notification.changeType}`}`,
      eventId,
    };
    // Every body for this source names the tenant (Graph's own, and those this source queues).
    if (
      sourceConfig.tenantId &&
      notification.tenantId?.toLowerCase() !== sourceConfig.tenantId.toLowerCase()
    ) {
      return {
        status: "ignored",
        reason: `notification from tenant ${notification.tenantId ?? "(none named)"}, not ${sourceConfig.tenantId}`,
        about,
      };
    }
    try {
      const translated = await translateGraphNotification(
        notification,
        eventId,
        { client: connection(), config, entra: sourceConfig, linked, state },
        { deadline },
      );
      if ("ignored" in translated) return { status: "ignored", reason: translated.ignored, about };
      if ("departed" in translated) return { status: "departed", ...translated.departed, about };
      if ("groupsDeleted" in translated)
        return { status: "groups-deleted", ...translated.groupsDeleted, about };
      if ("split" in translated) return { status: "split", bodies: translated.split, about };
      return { status: "events", ...translated, about };
    } catch (error) {
      throw Object.assign(error as object, { eventId });
    }
  },
};
