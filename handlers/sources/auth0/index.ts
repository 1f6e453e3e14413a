/**
 * Auth0 as an identity source: Log Streams and Event Streams on EventBridge partner buses, each
 * event a trigger to read the user from the Management API (README "Auth0").
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import type { IdentitySource } from "../../core/source.js";
import { Pacer } from "../../shared/pacer.js";
import { translateAuth0Trigger } from "./adapter.js";
import { Auth0Client } from "./client.js";
import { type Auth0Config, Auth0ConfigSchema } from "./config.js";
import { Auth0NotConfiguredError, SecretsManagerAuth0Credentials } from "./credentials.js";
import { auth0Deployment } from "./deployment.js";
import { claimsAuth0, singleUserBody, triggerOf } from "./events.js";

/** What the ingest function's environment tells the Auth0 source (set by lib/ when Auth0 is enabled). */
const Auth0EnvironmentSchema = z.object({
  /** The Auth0 credential's secret. */
  AUTH0_SECRET_ID: z.string().min(1).optional(),
  /** Per-request timeout of Auth0 calls, milliseconds. */
  AUTH0_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  /** This container's share of the Auth0 rate budget, requests a minute; unset: no pacing. */
  AUTH0_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
});

export const auth0Source: IdentitySource<Auth0Config, Auth0Client> = {
  id: "auth0",
  configSchema: Auth0ConfigSchema,
  deployment: auth0Deployment,

  recognise: claimsAuth0,

  connect({ variables, onResponse }) {
    const parsed = Auth0EnvironmentSchema.safeParse(variables);
    if (!parsed.success) throw new Auth0NotConfiguredError(`environment: ${describeIssues(parsed.error)}`);
    const vars = parsed.data;
    if (!vars.AUTH0_SECRET_ID) {
      throw new Auth0NotConfiguredError(
        'an Auth0 event arrived but AUTH0_SECRET_ID is not set: give the stack an Auth0 secret (README "Auth0")',
      );
    }
    return new Auth0Client({
      credentials: new SecretsManagerAuth0Credentials({
        secretId: vars.AUTH0_SECRET_ID,
        provider: new SecretsProvider(),
        maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
      }),
      timeoutMs: vars.AUTH0_TIMEOUT_MS,
      onResponse,
      pacer: vars.AUTH0_REQUESTS_PER_MINUTE
        ? new Pacer({ perMinute: vars.AUTH0_REQUESTS_PER_MINUTE })
        : undefined,
    });
  },

  async translate(json, { sourceConfig, connection, deadline, linked }) {
    const trigger = triggerOf(json);
    const about = { kind: `auth0.${trigger.kind}`, eventId: trigger.eventId };
    if (trigger.action === "ignore") return { status: "ignored", reason: trigger.reason, about };
    if (trigger.action === "split") {
      // One role given to several users: each is read and retried on its own.
      return {
        status: "split",
        bodies: trigger.userIds.map((userId) => ({
          body: singleUserBody(json as Record<string, unknown>, userId),
          eventId: `${trigger.eventId}:${userId}`,
        })),
        about,
      };
    }
    try {
      const translated = await translateAuth0Trigger(
        trigger,
        { client: connection(), auth0: sourceConfig, linked },
        { deadline },
      );
      if ("ignored" in translated) return { status: "ignored", reason: translated.ignored, about };
      if ("departed" in translated) return { status: "departed", ...translated.departed, about };
      return { status: "events", ...translated, about };
    } catch (error) {
      throw Object.assign(error as object, { eventId: trigger.eventId });
    }
  },
};
