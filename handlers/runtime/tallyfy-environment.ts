/**
 * What every function that calls Tallyfy reads (apply, the full sync), and the client built from
 * it: the token read from the secret, paced at the function's share, 429s counted.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { Pacer, type SharedTimeline } from "../shared/pacer.js";
import { TallyfyClient } from "../tallyfy/client.js";
import { SecretsManagerTokenSource } from "../tallyfy/credentials.js";
import { count, MetricName } from "./observability.js";

/** What every function that calls Tallyfy reads: the apply functions and the full sync. */
export const tallyfyVariables = {
  TALLYFY_SECRET_ID: z.string().min(1),
  TALLYFY_ORG_ID: z.string().min(1),
  TALLYFY_API_URL: z.url().default("https://go.tallyfy.com/api"),
  /** Per-request timeout of Tallyfy calls, milliseconds. */
  TALLYFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** How long a read of the secret is trusted, seconds. */
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  /**
   * The function's Tallyfy budget, requests a minute: the full sync's share, or the reconcile
   * lanes' (shared by all their containers through the directory's schedule). Unset: no pacing.
   */
  TALLYFY_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  /**
   * How far ahead this function may book on the reconcile lanes' shared schedule (the apply
   * function's `JOINS_HORIZON_MS`); unset, it books at the end however far (the departures function).
   */
  TALLYFY_BOOKING_HORIZON_MS: z.coerce.number().int().min(1).optional(),
};

/**
 * The Tallyfy client of a function that calls Tallyfy (apply, full sync), from its
 * `tallyfyVariables`: the token read from the secret, paced at the function's share, 429s counted.
 */
export function tallyfyClientFrom(
  vars: z.output<z.ZodObject<typeof tallyfyVariables>>,
  /** Where the budget is shared with other containers (the reconcile lanes'). @default none: its own */
  timeline?: SharedTimeline,
): TallyfyClient {
  return new TallyfyClient({
    organizationId: vars.TALLYFY_ORG_ID,
    baseUrl: vars.TALLYFY_API_URL,
    timeoutMs: vars.TALLYFY_TIMEOUT_MS,
    tokens: new SecretsManagerTokenSource({
      secretId: vars.TALLYFY_SECRET_ID,
      provider: new SecretsProvider(),
      maxAgeSeconds: vars.SECRET_MAX_AGE_SECONDS,
    }),
    onResponse: ({ status }) => {
      if (status === 429) count(MetricName.TallyfyThrottled);
    },
    pacer: vars.TALLYFY_REQUESTS_PER_MINUTE
      ? new Pacer({ perMinute: vars.TALLYFY_REQUESTS_PER_MINUTE, timeline })
      : undefined,
  });
}
