/**
 * Google Workspace as an identity source: Admin SDK Directory API push notifications
 * (`users.watch`), received by a small webhook function, each read back from the Directory API
 * with a service account acting for an administrator (README "Google Workspace").
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import type { IdentitySource } from "../../core/source.js";
import { Pacer } from "../../shared/pacer.js";
import { readUser, translateGooglePush } from "./adapter.js";
import { maintainGoogleChannels } from "./channels.js";
import { GoogleClient } from "./client.js";
import { type GoogleConfig, GoogleConfigSchema } from "./config.js";
import { GoogleNotConfiguredError, SecretsManagerGoogleCredentials } from "./credentials.js";
import { googleDeployment } from "./deployment.js";
import { claimsGoogle, parseQueuedPush, receiveGoogle } from "./events.js";

const GoogleEnvironmentSchema = z.object({
  GOOGLE_SECRET_ID: z.string().min(1).optional(),
  GOOGLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  GOOGLE_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
});

export const googleSource: IdentitySource<GoogleConfig, GoogleClient> = {
  id: "google",
  configSchema: GoogleConfigSchema,
  deployment: googleDeployment,

  recognise: claimsGoogle,

  connect({ variables, onResponse }) {
    const parsed = GoogleEnvironmentSchema.safeParse(variables);
    if (!parsed.success) throw new GoogleNotConfiguredError(`environment: ${describeIssues(parsed.error)}`);
    const vars = parsed.data;
    if (!vars.GOOGLE_SECRET_ID) {
      throw new GoogleNotConfiguredError(
        'a Google push arrived but GOOGLE_SECRET_ID is not set: give the stack a Google secret (README "Google Workspace")',
      );
    }
    return new GoogleClient({
      credentials: new SecretsManagerGoogleCredentials({
        secretId: vars.GOOGLE_SECRET_ID,
        provider: new SecretsProvider(),
        maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
      }),
      timeoutMs: vars.GOOGLE_TIMEOUT_MS,
      onResponse,
      pacer: vars.GOOGLE_REQUESTS_PER_MINUTE
        ? new Pacer({ perMinute: vars.GOOGLE_REQUESTS_PER_MINUTE })
        : undefined,
    });
  },

  receive: receiveGoogle,

  maintainSubscriptions: maintainGoogleChannels,

  async *listUsers({ config, sourceConfig, connection, deadline, listedAt, runId }, cursor) {
    const client = connection();
    let next = cursor;
    do {
      const page = await client.listUsersPage(sourceConfig.customer, next, { deadline });
      const users = [];
      for (const user of page.users) {
        const state = await readUser(
          user.id,
          `full-sync:${runId}:${user.id}`,
          false,
          { client, config, google: sourceConfig, now: () => Date.parse(listedAt) },
          { deadline },
          user,
        );
        if ("events" in state)
          users.push({ subject: user.id, events: state.events, warnings: state.warnings });
      }
      next = page.next;
      yield { users, cursor: next };
    } while (next);
  },

  async translate(json, { config, sourceConfig, connection, deadline, linked }) {
    const push = parseQueuedPush(json);
    const eventId = `${push.channelId ?? "google"}:${push.messageNumber ?? push.userId ?? "all"}:${push.receivedAt}`;
    const about = { kind: `google.${push.event}`, eventId };
    try {
      const translated = await translateGooglePush(
        push,
        eventId,
        {
          client: connection(),
          config,
          google: sourceConfig,
          linked,
        },
        { deadline },
      );
      if ("ignored" in translated) return { status: "ignored", reason: translated.ignored, about };
      if ("departed" in translated) return { status: "departed", ...translated.departed, about };
      if ("split" in translated) return { status: "split", bodies: translated.split, about };
      return { status: "events", ...translated, about };
    } catch (error) {
      throw Object.assign(error as object, { eventId });
    }
  },
};
