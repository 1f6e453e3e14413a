/**
 * Okta as an identity source: Event Hook bodies and Log Streaming envelopes, each event hydrated
 * from the Okta API (README "Okta").
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import type { IdentitySource } from "../../core/source.js";
import { Pacer } from "../../shared/pacer.js";
import { listedStateOf, translateOktaEvent } from "./adapter.js";
import { OktaClient } from "./client.js";
import { type OktaConfig, OktaConfigSchema } from "./config.js";
import { OktaNotConfiguredError, SecretsManagerOktaCredentials } from "./credentials.js";
import { oktaDeployment } from "./deployment.js";
import {
  claimsOkta,
  InvalidOktaEventError,
  parseLogEvent,
  recogniseOkta,
  singleEventHookBody,
} from "./events.js";

/** What the ingest function's environment tells the Okta source (set by lib/ when Okta is enabled). */
const OktaEnvironmentSchema = z.object({
  /** The Okta credential's secret. */
  OKTA_SECRET_ID: z.string().min(1).optional(),
  /** Per-request timeout of Okta calls, milliseconds. */
  OKTA_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  /** Users per page of a full reconciliation's listing (Okta allows 200). */
  OKTA_LIST_PAGE_SIZE: z.coerce.number().int().min(1).max(200).default(200),
  /** This container's share of the Okta rate budget, requests a minute; unset: no pacing. */
  OKTA_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
});

export const oktaSource: IdentitySource<OktaConfig, OktaClient> = {
  id: "okta",
  configSchema: OktaConfigSchema,
  deployment: oktaDeployment,

  recognise: claimsOkta,

  connect({ variables, onResponse }) {
    const parsed = OktaEnvironmentSchema.safeParse(variables);
    if (!parsed.success) throw new OktaNotConfiguredError(`environment: ${describeIssues(parsed.error)}`);
    const vars = parsed.data;
    if (!vars.OKTA_SECRET_ID) {
      throw new OktaNotConfiguredError(
        'an Okta event arrived but OKTA_SECRET_ID is not set: give the stack an Okta secret (README "Okta")',
      );
    }
    return new OktaClient({
      credentials: new SecretsManagerOktaCredentials({
        secretId: vars.OKTA_SECRET_ID,
        provider: new SecretsProvider(),
        maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
      }),
      timeoutMs: vars.OKTA_TIMEOUT_MS,
      listPageSize: vars.OKTA_LIST_PAGE_SIZE,
      onResponse,
      pacer: vars.OKTA_REQUESTS_PER_MINUTE
        ? new Pacer({ perMinute: vars.OKTA_REQUESTS_PER_MINUTE })
        : undefined,
    });
  },

  async *listUsers({ config, sourceConfig, connection, deadline, listedAt, runId }, cursor) {
    const client = connection();
    // Okta's own next-page URL is the cursor; the first page has none.
    let next = cursor;
    do {
      const page = await client.listUsersPage(next, { deadline });
      const users = [];
      for (const user of page.users) {
        const state = await listedStateOf(
          user,
          { client, config, okta: sourceConfig },
          { id: `full-sync:${runId}:${user.id}`, time: listedAt },
          { deadline },
        );
        if (state) users.push({ subject: user.id, ...state });
      }
      next = page.next;
      yield { users, cursor: next };
    } while (next);
  },

  async translate(json, { config, sourceConfig, connection, deadline }) {
    const body = recogniseOkta(json);
    if (!body)
      throw new InvalidOktaEventError("body is neither an Okta event hook body nor a Log Streaming event");
    const [first, ...more] = body.events;
    if (!first) {
      return { status: "ignored", reason: "Okta event hook body with no events", about: { kind: "okta" } };
    }
    if (more.length > 0) {
      // Several events: each is queued alone, so each is retried or dead-lettered on its own.
      return {
        status: "split",
        bodies: body.events.map((e) => ({
          body: singleEventHookBody(body.raw, e),
          eventId: String((e as { uuid?: unknown } | null)?.uuid ?? "unknown"),
        })),
        about: { kind: "okta.event_hook (split)", eventId: body.raw.eventId as string | undefined },
      };
    }
    const event = parseLogEvent(first);
    const about = { kind: event.eventType, eventId: event.uuid };
    try {
      const translated = await translateOktaEvent(
        event,
        { client: connection(), config, okta: sourceConfig },
        { deadline },
      );
      if (translated.ignored !== undefined) return { status: "ignored", reason: translated.ignored, about };
      if (translated.departed) return { status: "departed", ...translated.departed, about };
      return {
        status: "events",
        events: translated.events,
        warnings: translated.warnings,
        subject: translated.subject,
        about,
      };
    } catch (error) {
      throw Object.assign(error as object, { eventId: event.uuid });
    }
  },
};
