/**
 * The whole pipeline on this machine: fauxqs queues, the directory on dynalite, the fake Tallyfy,
 * and both real handlers driven by local event source mappings.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DEPARTURES_BATCH_SIZE, JOINS_HORIZON_MS, TALLYFY_SCHEDULE } from "../handlers/contracts/lanes.js";
import type { AnyIdentitySource } from "../handlers/core/source.js";
import type { Directory } from "../handlers/directory/directory.js";
import { buildReconciler } from "../handlers/runtime/apply-environment.js";
import { createApplyHandler } from "../handlers/runtime/apply-handler.js";
import type { BatchTally } from "../handlers/runtime/batch.js";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import { createIngestHandler } from "../handlers/runtime/ingest-handler.js";
import { DeadLetterQueue, IngestQueue, ReconcileQueue } from "../handlers/runtime/queues.js";
import { createScimHandler } from "../handlers/runtime/scim-handler.js";
import { Pacer } from "../handlers/shared/pacer.js";
import { parseSyncConfig, SOURCES, type SyncConfig } from "../handlers/sources/index.js";
import { OktaClient } from "../handlers/sources/okta/client.js";
import { StaticOktaCredentials } from "../handlers/sources/okta/credentials.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import type { RetryPolicy } from "../handlers/tallyfy/transport.js";
import { startLocalDynamo } from "./dynamodb.js";
import { drain, LocalEventSource, startLocalSqs } from "./event-source.js";
import type { FakeOkta } from "./fakes/fake-okta.js";
import { FakeTallyfy, type FakeTallyfyOptions } from "./fakes/fake-tallyfy.js";
import { type DirectoryPolicies, type DirectoryPrincipal, policiesFromFile } from "./fakes/iam-dynamodb.js";
import { type DeadLetter, readDeadLetters } from "./report.js";
import { startScimServer } from "./scim-server.js";

/** The two reconcile lanes: joins and everything else, and departures. */
type Lane = "reconcile" | "departures";
export const DEFAULT_TEST_CONFIG = {
  memberDomains: ["example.com"],
  roles: { admin: ["Tallyfy Admins"], standard: ["Staff"], light: ["Contractors"] },
  defaultRole: "standard",
  groups: { Engineering: "Engineering", Sales: "Sales", Partners: "Partners" },
  createMissingGroups: false,
  deprovision: "disable",
  inviteMessage: "Welcome to Tallyfy",
};

export interface TestPipelineOptions {
  readonly config?: Record<string, unknown>;
  readonly maxReceiveCount?: number;
  /** Latency, rate limit and other settings of the fake Tallyfy. */
  readonly tallyfy?: FakeTallyfyOptions;
  /** Apply pollers running at once, like the mapping's maximum concurrency. @default 1 */
  readonly applyConcurrency?: number;
  /** The clock ingest judges event times by. @default Date.now */
  readonly now?: () => number;
  /** Records the ingest function takes at once. @default 10 */
  readonly ingestBatchSize?: number;
  /** How often a drain checks the queues, in milliseconds. @default 100 */
  readonly drainIntervalMs?: number;
  /** The Tallyfy client's retry policy. @default a Retry-After of at most 2 s, else the product's */
  readonly tallyfyRetry?: Partial<RetryPolicy>;
  /**
   * Where dynalite runs (see `LocalDynamoOptions`): the bench gives it a process of its own.
   * @default "this"
   */
  readonly dynamoProcess?: "this" | "own";
  /**
   * Each function's IAM statements on the directory table, by principal (`ingest`, `apply`,
   * `departures`, `fullSync`, `scim`, `upkeep`): each function's requests are judged by its own,
   * as its role's are in AWS. The test run gives every pipeline the synthesized stack's
   * (test/global-setup.ts writes them to the file `DIRECTORY_POLICIES_FILE` names).
   * @default the file's, when `DIRECTORY_POLICIES_FILE` is set; else every request allowed
   */
  readonly policies?: DirectoryPolicies;
  /**
   * The reconcile lanes' Tallyfy budget, requests a minute: every poller of both lanes books each
   * request on one schedule in the directory, as the stack's functions do. @default no pacing
   */
  readonly tallyfyRequestsPerMinute?: number;
  /**
   * Visibility timeout of the source queues, and the function timeout the handlers see (a sixth
   * of it, as in the stack, but never under 5 s). Short by default so retries in tests come back quickly.
   * @default 1
   */
  readonly visibilityTimeoutSeconds?: number;
  /** A fake Okta the ingest handler reads, with the SSWS token it accepts. @default no Okta */
  readonly okta?: { readonly fake: FakeOkta; readonly apiToken?: string };
  /** The identity sources, in the registry's order. @default the registry's */
  readonly sources?: readonly AnyIdentitySource[];
  /** The environment sources connect from, as the ingest function's would be. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** Serve the SCIM endpoint on loopback, accepting these bearer tokens. @default no SCIM endpoint */
  readonly scim?: {
    readonly tokens: readonly string[];
    /** Wraps the SCIM function's SQS client, to inject faults. @default the pipeline's client */
    readonly sqs?: (client: SQSClient) => SQSClient;
    /** Wraps the SCIM function's DynamoDB client, to inject faults. @default a client of the pipeline's table */
    readonly db?: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient;
  };
}

export async function startPipeline(options: TestPipelineOptions = {}) {
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const visibility = options.visibilityTimeoutSeconds ?? 1;
  // At least 5 s, so a Retry-After of a second is slept through in-process as a real function would.
  const functionTimeoutMs = Math.max(5_000, (visibility * 1000) / 6);
  const sqs = await startLocalSqs({ maxReceiveCount, visibilityTimeoutSeconds: visibility });
  const tallyfy = await FakeTallyfy.start(options.tallyfy);
  const dynamo = await startLocalDynamo(undefined, {
    process: options.dynamoProcess,
    policies: options.policies ?? policiesFromFile(process.env.DIRECTORY_POLICIES_FILE),
  });
  const directory = directoryFrom(dynamo.tableName, dynamo.client);
  /** The directory as `principal`'s role reaches it. */
  const directoryAs = (principal: DirectoryPrincipal) =>
    directoryFrom(dynamo.tableName, dynamo.clientAs(principal));
  const laneDirectories = {
    reconcile: directoryAs("apply"),
    departures: directoryAs("departures"),
  } satisfies Record<Lane, Directory>;
  const sources = options.sources ?? SOURCES;
  let config: SyncConfig = parseSyncConfig(
    JSON.stringify(options.config ?? DEFAULT_TEST_CONFIG),
    "the test configuration",
    sources,
  );
  const { queues, client: sqsClient } = sqs;
  const tallies = { ingest: [] as BatchTally[], apply: [] as BatchTally[] };

  // Each poller of either lane is a container of its own: its own client and caches. Their pacers
  // book every request on one schedule in the directory, as the stack's functions do.
  const newClient = (lane: Lane) =>
    new TallyfyClient({
      organizationId: tallyfy.organizationId,
      baseUrl: tallyfy.url,
      tokens: new StaticTokenSource("test-token"),
      retry: { maxRetryAfterMs: 2_000, ...options.tallyfyRetry },
      pacer: options.tallyfyRequestsPerMinute
        ? new Pacer({
            perMinute: options.tallyfyRequestsPerMinute,
            timeline: laneDirectories[lane].schedule(TALLYFY_SCHEDULE, {
              horizonMs: lane === "reconcile" ? JOINS_HORIZON_MS : undefined,
            }),
          })
        : undefined,
    });

  const reconcileQueue = new ReconcileQueue(sqsClient, queues.reconcile.url, queues.departures.url);
  const guestProfilesNotApplied: string[] = [];
  const newReconciler = (lane: Lane) =>
    buildReconciler({
      config,
      client: newClient(lane),
      directory: laneDirectories[lane],
      queue: reconcileQueue,
      onGuestProfileNotApplied: (email, fields) =>
        guestProfilesNotApplied.push(`${email}: ${fields.join(", ")}`),
    });
  const applyPollers = Math.max(1, options.applyConcurrency ?? 1);
  // The apply pollers, then the departures lane's one.
  const lanes = [...Array.from({ length: applyPollers }, () => "reconcile" as const), "departures" as const];
  let reconcilers = lanes.map(newReconciler);
  const oktaClient =
    options.okta &&
    new OktaClient({
      credentials: new StaticOktaCredentials(
        options.okta.fake.url,
        options.okta.apiToken ?? "okta-test-token",
      ),
      maxRateLimitWaitMs: 2_000,
    });
  const connections = new Map<string, unknown>();
  const ingest = createIngestHandler({
    config: () => config,
    directory: directoryAs("ingest"),
    reconcile: reconcileQueue,
    now: options.now,
    ingestQueue: new IngestQueue(sqsClient, queues.ingest.url),
    sources,
    connection: (source) => {
      if (source.id === "okta" && oktaClient) return oktaClient;
      // As in Lambda: built once per container (a token is cached in it); without its variables,
      // the source says what it is missing, on every use.
      if (!connections.has(source.id)) {
        connections.set(
          source.id,
          source.connect?.({ variables: options.environment ?? {}, onResponse: () => {} }),
        );
      }
      return connections.get(source.id);
    },
    deadLetters: new DeadLetterQueue(sqsClient, queues.ingestDeadLetter.url),
    maxReceiveCount,
    onTally: (t) => tallies.ingest.push(t),
  });
  const applyHandlers = reconcilers.map((_, index) =>
    createApplyHandler({
      config: () => config,
      deadLetters: new DeadLetterQueue(sqsClient, queues.reconcileDeadLetter.url),
      maxReceiveCount,
      reconciler: () => reconcilers[index] as NonNullable<(typeof reconcilers)[number]>,
      onTally: (t) => tallies.apply.push(t),
    }),
  );
  const pollers = [
    {
      source: new LocalEventSource({
        client: sqsClient,
        queue: queues.ingest,
        handler: ingest,
        functionTimeoutMs,
        batchSize: options.ingestBatchSize,
      }),
      queue: queues.ingest,
    },
    ...applyHandlers.map((handler, index) => {
      const departures = lanes[index] === "departures";
      const queue = departures ? queues.departures : queues.reconcile;
      const batchSize = departures ? DEPARTURES_BATCH_SIZE : undefined;
      return {
        source: new LocalEventSource({ client: sqsClient, queue, handler, functionTimeoutMs, batchSize }),
        queue,
      };
    }),
  ];

  const scim =
    options.scim &&
    (await startScimServer(
      createScimHandler({
        db: (options.scim.db ?? ((db) => db))(DynamoDBDocumentClient.from(dynamo.clientAs("scim"))),
        tableName: dynamo.tableName,
        sqs: options.scim.sqs?.(sqsClient) ?? sqsClient,
        ingestQueueUrl: queues.ingest.url,
        tokens: async () => options.scim?.tokens ?? [],
      }),
    ));

  return {
    sqs: sqsClient,
    /** fauxqs on loopback: SQS and S3 both answer here. */
    awsEndpoint: sqs.endpoint,
    /** The SCIM endpoint's base URL, `http://127.0.0.1:<port>/scim/v2`, when `scim` was given. */
    scimUrl: scim?.url,
    queues,
    /** Sends reconcile messages as the handlers do: urgent ones on the departures lane. */
    reconcileQueue,
    tallyfy,
    tallies,
    directory,
    directoryAs,
    /** The directory's table on dynalite: its operation counts and size. */
    dynamo,
    /** Guests whose profile Tallyfy took but kept unchanged, with the fields. */
    guestProfilesNotApplied,
    /** The configuration both handlers read now. */
    config: (): SyncConfig => config,
    /** A new apply container: every in-memory cache (member ids, group ids) starts empty. */
    coldStart(): void {
      reconcilers = lanes.map(newReconciler);
    },
    /** A new configuration, as a deployment gives both functions: new containers read it. */
    reconfigure(next: Record<string, unknown>): void {
      config = parseSyncConfig(JSON.stringify(next), "the test configuration", sources);
      reconcilers = lanes.map(newReconciler);
    },
    /** Puts raw bodies (events or anything else) on the ingest queue. */
    async send(...bodies: (object | string)[]): Promise<void> {
      for (const body of bodies) {
        await sqsClient.send(
          new SendMessageCommand({
            QueueUrl: queues.ingest.url,
            MessageBody: typeof body === "string" ? body : JSON.stringify(body),
          }),
        );
      }
    },
    /** Runs both handlers until every queue is empty. */
    async drain(timeoutMs = 60_000): Promise<void> {
      if (!(await drain(sqsClient, pollers, timeoutMs, options.drainIntervalMs)))
        throw new Error("the pipeline did not drain in time");
    },
    async deadLetters(which: "ingest" | "reconcile"): Promise<DeadLetter[]> {
      return readDeadLetters(
        sqsClient,
        which === "ingest" ? queues.ingestDeadLetter : queues.reconcileDeadLetter,
      );
    },
    async stop(): Promise<void> {
      await scim?.stop();
      await Promise.all([sqs.stop(), tallyfy.stop(), dynamo.stop()]);
    },
  };
}

export type TestPipeline = Awaited<ReturnType<typeof startPipeline>>;

let sequence = 0;

/** A canonical event with a fresh id. */
export function event(type: string, fields: Record<string, unknown>): Record<string, unknown> {
  sequence++;
  return {
    id: `evt-${sequence}-${Math.random().toString(36).slice(2, 8)}`,
    type,
    time: new Date(Date.UTC(2026, 10, 23, 10, 0, sequence)).toISOString(),
    source: "test",
    ...fields,
  };
}

/** Sums the tallies: the conservation invariant must hold for each batch and so for the sum. */
export function totals(tallies: readonly BatchTally[]): BatchTally {
  return tallies.reduce(
    (sum, t) => ({
      received: sum.received + t.received,
      applied: sum.applied + t.applied,
      noop: sum.noop + t.noop,
      ignored: sum.ignored + t.ignored,
      deadLettered: sum.deadLettered + t.deadLettered,
      retried: sum.retried + t.retried,
    }),
    { received: 0, applied: 0, noop: 0, ignored: 0, deadLettered: 0, retried: 0 },
  );
}
