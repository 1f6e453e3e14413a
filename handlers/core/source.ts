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
  /**
   * The provider's API rate budget, requests a minute, and the variable that gives each ingest
   * function its share of it (the budget divided by the ingest mapping's maximum concurrency).
   */
  readonly rateBudget?: { readonly variable: string; readonly perMinute: number };
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
  /** ISO time the run started: the version of every listed state, so any later event wins. */
  readonly listedAt: string;
  /** The run's id, for event ids that stay unique across runs. */
  readonly runId: string;
}

/** A source of any configuration and connection, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds sources of different types; each checks its own.
export type AnyIdentitySource = IdentitySource<any, any>;
