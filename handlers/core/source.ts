/**
 * The identity source contract (docs/architecture.md section 4). A source recognises the bodies
 * its identity provider sends, translates each into canonical identity events (reading the
 * provider's API where the event alone is not enough), and declares its own configuration.
 *
 * A source imports `core/` and `shared/` only: it never knows about SQS, Lambda or another
 * source, and the ingest handler never knows a source by name: it asks the registry
 * (`sources/index.ts`).
 */
import type * as z from "zod";
import type { CoreConfig } from "./config.js";
import type { IdentityEvent } from "./identity-event.js";

/** The message attribute a source's own ingress stamps with the source's id. */
export const SOURCE_ATTRIBUTE = "source";

/** What a body became. `about` names it in metrics, logs and dead letters. */
export type Translation = (
  | {
      /** Canonical events to apply, in order, and values left out on the way (never secrets). */
      readonly status: "events";
      readonly events: readonly IdentityEvent[];
      readonly warnings?: readonly string[];
      /**
       * The source's own id for the user the events are about. The directory links it to the
       * email on first sight; later events under another email are an email change.
       */
      readonly subject?: string;
      /**
       * The email the source first provisioned `subject` under, when it keeps it (SCIM does): the
       * link is made to it whatever order the messages are read in.
       */
      readonly linkEmail?: string;
      /**
       * Ids of the source's own to remember, each with the id of the source's user it belongs to
       * (an Identity Center membership id and its member): a later event that carries only the
       * id is resolved through {@link SourceContext.linked}. The first link of an id is kept.
       */
      readonly links?: Readonly<Record<string, string>>;
    }
  | {
      /**
       * The source's user is gone and the source can no longer say who they were: the person the
       * directory linked to `subject` when it was provisioned departs. No link, nobody departs.
       */
      readonly status: "departed";
      readonly subject: string;
      readonly id: string;
      readonly time: string;
    }
  | {
      /**
       * Groups the source deleted, each by every name its memberships were recorded under
       * (deleting a group takes its memberships with it, and the source says nothing of them):
       * everyone the directory has present in them is taken out.
       */
      readonly status: "groups-deleted";
      readonly names: readonly string[];
      readonly id: string;
      readonly time: string;
    }
  | { readonly status: "ignored"; readonly reason: string }
  | {
      /** The body holds several independent changes: each goes back on the queue alone. */
      readonly status: "split";
      readonly bodies: readonly { readonly body: string; readonly eventId: string }[];
    }
) & { readonly about: { readonly kind: string; readonly eventId?: string } };

/** What a source may use from the function it runs in, to build its clients. */
export interface SourceEnvironment {
  /** The function's environment variables (ids of secrets, never secrets). */
  readonly variables: Readonly<Record<string, string | undefined>>;
  /** Counts one answer of the provider's API by HTTP status, for the throttling metric. */
  readonly onResponse: (status: number) => void;
}

export interface SourceContext<Config, Connection> {
  /** The source-independent configuration. */
  readonly config: CoreConfig;
  /** This source's key of the configuration. */
  readonly sourceConfig: Config;
  /** The source's clients, built once per container by {@link IdentitySource.connect}. */
  readonly connection: () => Connection;
  /** Epoch milliseconds by which the work must be done (the function's remaining time). */
  readonly deadline: number;
  /**
   * What an earlier translation of this source linked `id` to (`links`), lower-cased; undefined
   * when none did. Absent where the function has no directory.
   */
  readonly linked?: (id: string) => Promise<string | undefined>;
  /**
   * A small store of the source's own mutable state (a delta link, a subscription's expiry), kept
   * in the directory. Absent where the function has no directory.
   */
  readonly state?: SourceState;
}

/** `entra` -> `ENTRA_WEBHOOK_URL`: the subscription function's variables for a source's webhook. */
export const webhookVariable = (source: string, name: "URL" | "SECRET_ID") =>
  `${source.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_WEBHOOK_${name}`;

/** Values a source keeps between invocations, by its own keys; JSON-serialisable, a few KB at most. */
export interface SourceState {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

/** One HTTPS request to a source's webhook, as its function reads it. */
export interface WebhookRequest {
  readonly method: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  /** ISO time the request arrived: the provider's notifications carry none of their own. */
  readonly receivedAt: string;
}

/** What the webhook function answers, and what it passes on. Never holds the webhook secret. */
export interface WebhookVerdict {
  readonly status: number;
  readonly contentType?: string;
  readonly body?: string;
  /** Bodies for the ingest queue, stamped with the source's id. */
  readonly queue?: readonly string[];
  /** Bodies for the source's subscription function: a subscription to renew or re-create now. */
  readonly maintain?: readonly string[];
  /** Why the request was refused (counted and logged; never the secret or the body). */
  readonly rejected?: string;
}

/** What a source's subscription upkeep may use (see {@link IdentitySource.maintainSubscriptions}). */
export interface MaintainContext<Config, Connection> {
  readonly config: CoreConfig;
  readonly sourceConfig: Config;
  readonly connection: () => Connection;
  readonly deadline: number;
  /** The webhook's public URL, which the provider is told to call. */
  readonly notificationUrl: string;
  /** The secret the provider must echo on every call (Graph's `clientState`, Google's channel token). */
  readonly webhookSecret: string;
  readonly state: SourceState;
  /** Epoch milliseconds now. */
  readonly now: number;
  /** The lifecycle messages the webhook passed on (none on a scheduled run). */
  readonly triggers: readonly unknown[];
  /** Queues bodies on the ingest queue, stamped with the source (a full read after notifications were lost). */
  readonly ingest: (bodies: readonly string[]) => Promise<void>;
}

/** What one upkeep run did, each entry naming a subscription or channel (never a secret). */
export interface MaintainReport {
  readonly created: readonly string[];
  readonly renewed: readonly string[];
  readonly stopped: readonly string[];
  /** Subscriptions that could not be created or renewed, with why: the alarm counts these. */
  readonly failed: readonly string[];
}

/**
 * An HTTPS endpoint that puts the provider's bodies straight on the ingest queue: API Gateway
 * with no function behind it, guarded by an API key the provider sends as `x-api-key`.
 */
export interface EndpointIngress {
  /** Names the endpoint in construct ids, outputs and alarms, e.g. `EventHook`. */
  readonly name: string;
  /** The resource path, e.g. `hook`. */
  readonly path: string;
  /** The stage name, which is also the last part of the URL's path before `path`. */
  readonly stageName: string;
  readonly description: string;
  /** A one-time GET verification that echoes a request header, answered by a mock. */
  readonly verification?: {
    readonly header: string;
    /** The response body as an API Gateway mapping template. */
    readonly responseTemplate: string;
  };
  /** A JSON Schema (draft 4) every POST body must match; anything else is refused with 400. */
  readonly bodySchema: Readonly<Record<string, unknown>>;
  /** What the alarms say when the endpoint refuses (4xx) or fails (5xx) requests. */
  readonly alarmText: { readonly rejected: string; readonly errors: string };
}

/**
 * An HTTPS endpoint backed by a small function, for providers whose requests must be answered or
 * checked in ways API Gateway alone cannot (echo a token as text/plain, compare a secret the
 * provider puts in the body or a header in constant time, keep the headers).
 */
export interface WebhookIngress {
  /** Names the endpoint in construct ids, outputs and alarms, e.g. `ChangeNotifications`. */
  readonly name: string;
  readonly path: string;
  readonly stageName: string;
  readonly description: string;
  /** The description of the generated secret the provider echoes. */
  readonly secretDescription: string;
  /** What the alarm says when the function refuses requests (a forged or stale secret). */
  readonly rejectedText: string;
  /**
   * Variables of the webhook function, each set from a key of the source's configuration; the
   * stack refuses to deploy the endpoint without it (Entra's tenant, which every notification
   * must name).
   */
  readonly variables?: Readonly<Record<string, string>>;
  /** The subscription function's schedule and what its alarm says; absent: no subscriptions to keep. */
  readonly subscriptions?: { readonly schedule: string; readonly failedText: string };
}

/** What lib/ builds for a source when it is enabled. Plain data: lib/ imports it at synth. */
export interface SourceDeployment {
  /** The credential the ingest function reads; its id (never its value) goes in `variable`. */
  readonly secret?: {
    readonly variable: string;
    /** The secret's description, with the JSON shapes it may hold. */
    readonly description: string;
    /** Why the secret is not rotated by a Lambda, for cdk-nag's acknowledgement. */
    readonly rotation: string;
  };
  readonly endpoint?: EndpointIngress;
  /** A function-backed webhook, and the scheduled upkeep of the provider's subscriptions to it. */
  readonly webhook?: WebhookIngress;
  /**
   * The provider's API rate budget, requests a minute, and the variable that gives each ingest
   * function its share of it (the budget divided by the ingest mapping's maximum concurrency).
   */
  readonly rateBudget?: { readonly variable: string; readonly perMinute: number };
  /**
   * A full-sync listing whose pages cost more than one request (the provider is read again for
   * each user): the variable that sets the page size, the requests a user costs at most, and the
   * largest page the provider serves. The stack sizes the full-sync function's pages so that one
   * takes at most half an invocation at the function's share of `rateBudget`: a page that runs
   * out of time is read again whole by the next invocation.
   */
  readonly listingPage?: {
    readonly variable: string;
    readonly requestsPerUser: number;
    readonly maxSize: number;
  };
  /** EventBridge rules from the provider's buses to the ingest queue, one per feed. */
  readonly eventBridge?: EventBridgeRoute | readonly EventBridgeRoute[];
  /**
   * AWS API calls the ingest function makes with its own role (no secret), for a provider that is
   * an AWS service. Resources may hold `{partition}`, `{account}` and `{config.<key>}`, a key of
   * the source's configuration that must then be set.
   */
  readonly awsApi?: {
    readonly actions: readonly string[];
    readonly resources: readonly string[];
    /** Why a wildcard resource is as narrow as the service allows, for cdk-nag's acknowledgement. */
    readonly wildcardReason?: string;
  };
}

/** One EventBridge rule from a provider's bus to the ingest queue. */
export interface EventBridgeRoute {
  /** Names the rule in construct ids and the bus setting, e.g. `LogStream`. */
  readonly name: string;
  readonly pattern: Readonly<Record<string, unknown>>;
  /** A bus name must start with this (a partner bus), when the provider has one. */
  readonly busPrefix?: string;
  /** The only bus the provider writes to (`default` for AWS services' CloudTrail events). */
  readonly busName?: string;
}

export interface IdentitySource<Config = unknown, Connection = unknown> {
  /** Names the source in the configuration, the `source` message attribute, metrics and logs. */
  readonly id: string;
  /** Its key under the sync configuration; every field has a default. */
  readonly configSchema?: z.ZodType<Config>;
  /**
   * True for a source whose callers are outsiders holding a token (a SCIM client): it may change
   * only people no other source provides, so its token cannot reach anyone another source manages.
   * @default false
   */
  readonly confined?: boolean;
  /** True when the body is in this source's format (the fallback when no `source` attribute names one). */
  recognise(body: unknown): boolean;
  /** Turns a body of this source into canonical events, or says why there are none. */
  translate(body: unknown, context: SourceContext<Config, Connection>): Promise<Translation>;
  /**
   * Builds the source's clients from the function's environment, once per container; throws
   * a permanent error naming what is missing when the source is not set up.
   */
  connect?(environment: SourceEnvironment): Connection;
  /** What the stack builds when the source is enabled. */
  readonly deployment?: SourceDeployment;
  /**
   * Full reconciliation: every user in scope, page by page from `cursor` (undefined: the first
   * page), so a run can stop between pages and go on in another invocation. Throws when a page
   * cannot be read; a listing that threw is incomplete, and nobody is inferred to have left.
   */
  listUsers?(context: ListContext<Config, Connection>, cursor?: string): AsyncIterable<ListedPage>;
  /**
   * The webhook function's work (see {@link WebhookIngress}): checks one request against the
   * accepted secrets (in constant time), and says what to answer and what to queue.
   */
  receive?(request: WebhookRequest, secrets: readonly string[]): WebhookVerdict;
  /** Creates the provider's subscriptions to the webhook when missing, and renews them before they expire. */
  maintainSubscriptions?(context: MaintainContext<Config, Connection>): Promise<MaintainReport>;
}

/**
 * One user of a listing, in the state the source has for them now. A user the source has but
 * does not hand to Tallyfy (out of scope: not assigned to the app) is left out of the listing, as
 * a deleted one is: full reconciliation decides at the end what leaving out means.
 */
export interface ListedUser {
  /** The source's own id for the user: the link the directory keeps (see {@link Translation}). */
  readonly subject: string;
  /** The user's full state as canonical events (a `user.updated` with every group, or a `user.deactivated`). */
  readonly events: readonly IdentityEvent[];
  /** Values left out on the way (never secrets). */
  readonly warnings?: readonly string[];
}

/** A page of a listing and where the next one starts. */
export interface ListedPage {
  readonly users: readonly ListedUser[];
  /** Opaque to everyone but the source; undefined after the last page. */
  readonly cursor?: string;
}

/** What a listing may use: as {@link SourceContext}, with the time the listing started. */
export interface ListContext<Config, Connection> extends SourceContext<Config, Connection> {
  /**
   * ISO time the run started, for ids and reads that need one; the engine versions each page at
   * the time it was read, so the fresher of a page and an event wins.
   */
  readonly listedAt: string;
  /** The run's id, for event ids that stay unique across runs. */
  readonly runId: string;
}

/** A source of any configuration and connection, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds sources of different types; each checks its own.
export type AnyIdentitySource = IdentitySource<any, any>;

/**
 * What the webhook function needs of a source: its id and its `receive`, without the rest of its
 * code (its client, its translation), which the function never runs.
 */
export interface WebhookReceiver {
  readonly id: string;
  receive(request: WebhookRequest, secrets: readonly string[]): WebhookVerdict;
}
