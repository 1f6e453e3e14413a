/**
 * The pipeline: the ingest and reconcile queues with their dead-letter queues, the directory
 * table, the secrets, and the ingest and apply functions with their queue mappings and
 * least-privilege grants. Built on the construct's own scope, so logical ids are the construct's.
 */
import {
  aws_iam as iam,
  type aws_lambda as lambda,
  RemovalPolicy,
  SecretValue,
  Stack,
  aws_secretsmanager as secretsmanager,
} from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { Construct } from "constructs";
import { DEPARTURES_BATCH_SIZE, JOINS_HORIZON_MS } from "../handlers/contracts/lanes.js";
import type { SyncConfig } from "../handlers/core/config.js";
import type { AnyIdentitySource } from "../handlers/core/source.js";
import { DirectoryTable } from "./directory-table.js";
import { syncFunction } from "./functions.js";
import { pascal } from "./ingress/endpoint-to-queue.js";
import { awsApiGrant } from "./ingress/source-routes.js";
import type { Settings, SourceProps, TallyfyIdpSyncProps } from "./props.js";
import { createQueues } from "./queues.js";
import { budgetShare } from "./rate-budget.js";

/** Departures functions at once: Lambda's least for an SQS mapping. */
const DEPARTURES_CONCURRENCY = 2;

/** The Tallyfy API the functions call unless `tallyfyApiUrl` says otherwise. */
export const TALLYFY_API_URL = "https://go.tallyfy.com/api";

/** An enabled source, with the secret the stack made or was given for it. */
export interface EnabledSource {
  readonly source: AnyIdentitySource;
  readonly props: SourceProps;
  readonly secret?: secretsmanager.ISecret;
}

export interface Pipeline {
  readonly queues: ReturnType<typeof createQueues>;
  readonly directory: DirectoryTable;
  readonly tallyfySecret: secretsmanager.ISecret;
  readonly enabled: readonly EnabledSource[];
  readonly ingestFunction: lambda.Function;
  readonly applyFunction: lambda.Function;
  /** The apply code on the departures lane. */
  readonly departuresFunction: lambda.Function;
  /** The environment every function that reads the directory shares. */
  readonly common: Readonly<Record<string, string>>;
  /** The sync configuration (JSON) every function that reads it bundles. */
  readonly config: string;
}

export interface PipelineOptions {
  readonly props: TallyfyIdpSyncProps;
  readonly settings: Settings;
  readonly syncConfig: SyncConfig;
  /** The fraction of each rate budget the full reconciliation keeps (0 when it is off). */
  readonly fullSyncFraction: number;
}

export function buildPipeline(scope: Construct, options: PipelineOptions): Pipeline {
  const { props, settings, syncConfig, fullSyncFraction } = options;
  const queues = createQueues(scope, settings);
  const directory = new DirectoryTable(scope, "Directory");

  // The secrets: by reference, or created holding "{}" for the administrator to fill.
  const tallyfySecret =
    props.tallyfySecret ??
    new secretsmanager.Secret(scope, "TallyfySecret", {
      description:
        'Tallyfy API credential for tallyfy-idp-sync: {"accessToken": "..."} or {"clientId", "clientSecret", "tokenUrl"}',
      secretStringValue: SecretValue.unsafePlainText("{}"),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  const enabled: EnabledSource[] = settings.sources.map(({ source, props: sourceProps }) => {
    const wanted = source.deployment?.secret;
    const secret =
      wanted &&
      (sourceProps.secret ??
        new secretsmanager.Secret(scope, `${pascal(source.id)}Secret`, {
          description: wanted.description,
          secretStringValue: SecretValue.unsafePlainText("{}"),
          removalPolicy: RemovalPolicy.RETAIN,
        }));
    return { source, props: sourceProps, secret };
  });

  const config = JSON.stringify(syncConfig);
  const common = {
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
    RECONCILE_QUEUE_URL: queues.reconcile.queueUrl,
    DEPARTURES_QUEUE_URL: queues.departures.queueUrl,
    DIRECTORY_TABLE_NAME: directory.table.tableName,
  };
  const ingestFunction = syncFunction(scope, "IngestFunction", {
    entry: "ingest.ts",
    syncConfig: config,
    timeout: settings.ingestTimeout,
    logRetention: props.logRetention,
    tracing: props.tracing,
    environment: {
      ...common,
      DEAD_LETTER_QUEUE_URL: queues.ingestDeadLetter.queueUrl,
      INGEST_QUEUE_URL: queues.ingest.queueUrl,
      ...Object.fromEntries(
        enabled.flatMap(({ source, secret }) => {
          const budget = source.deployment?.rateBudget;
          // What the full reconciliation keeps for listing this provider is left out.
          const fraction = 1 - (source.listUsers ? fullSyncFraction : 0);
          const variable = source.deployment?.secret?.variable;
          return [
            ...(budget
              ? [
                  [
                    budget.variable,
                    String(budgetShare(budget.perMinute, fraction, settings.ingestMaxConcurrency)),
                  ],
                ]
              : []),
            // Each source's secret by id, under the variable the source reads.
            ...(variable && secret ? [[variable, secret.secretArn]] : []),
          ];
        }),
      ),
    },
  });
  // The apply code, on either reconcile lane: its variables, then the lane's pacing.
  const applyOn = (id: string, pacing: Record<string, string>) =>
    syncFunction(scope, id, {
      entry: "apply.ts",
      syncConfig: config,
      timeout: settings.applyTimeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        ...common,
        DEAD_LETTER_QUEUE_URL: queues.reconcileDeadLetter.queueUrl,
        ...tallyfyVariables(props, tallyfySecret),
        ...pacing,
      },
    });
  // Both lanes book every Tallyfy request on one schedule in the directory, at the whole budget
  // less the full sync's share (it uses the same token): exact however many containers run.
  const lanePacing = {
    TALLYFY_REQUESTS_PER_MINUTE: String(budgetShare(settings.tallyfyRequestsPerMinute, 1 - fullSyncFraction)),
  };
  // Joins book no more than a horizon ahead, so a departure never waits longer behind them.
  const applyFunction = applyOn("ApplyFunction", {
    ...lanePacing,
    TALLYFY_BOOKING_HORIZON_MS: String(JOINS_HORIZON_MS),
  });
  const departuresFunction = applyOn("DeparturesFunction", lanePacing);

  ingestFunction.addEventSource(
    new SqsEventSource(queues.ingest, {
      batchSize: settings.ingestBatchSize,
      maxBatchingWindow: settings.ingestBatchingWindow,
      reportBatchItemFailures: true,
      maxConcurrency: settings.ingestMaxConcurrency,
    }),
  );
  applyFunction.addEventSource(
    new SqsEventSource(queues.reconcile, {
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: settings.applyMaxConcurrency,
    }),
  );
  departuresFunction.addEventSource(
    new SqsEventSource(queues.departures, {
      batchSize: DEPARTURES_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: DEPARTURES_CONCURRENCY,
    }),
  );
  const parts = {
    queues,
    directory,
    tallyfySecret,
    enabled,
    ingestFunction,
    applyFunction,
    departuresFunction,
  };
  grantPipeline(parts, syncConfig);
  return { ...parts, common, config };
}

/** The Tallyfy secret, organization and API of the functions that call Tallyfy. */
export function tallyfyVariables(
  props: TallyfyIdpSyncProps,
  tallyfySecret: secretsmanager.ISecret,
): Record<string, string> {
  return {
    TALLYFY_SECRET_ID: tallyfySecret.secretArn,
    TALLYFY_ORG_ID: props.tallyfyOrganizationId,
    TALLYFY_API_URL: props.tallyfyApiUrl ?? TALLYFY_API_URL,
  };
}

function grantPipeline(parts: Omit<Pipeline, "common" | "config">, syncConfig: SyncConfig): void {
  const { queues, directory, tallyfySecret, enabled, ingestFunction, applyFunction, departuresFunction } =
    parts;
  queues.ingestDeadLetter.grantSendMessages(ingestFunction);
  directory.grantRecord(ingestFunction);
  // Every function that records or reconciles may ask for a reconcile on either lane (and read its
  // depth: each lane's pacer reads the other's).
  for (const fn of [ingestFunction, applyFunction, departuresFunction]) {
    queues.reconcile.grantSendMessages(fn);
    queues.departures.grantSendMessages(fn);
  }
  for (const fn of [applyFunction, departuresFunction]) {
    queues.reconcileDeadLetter.grantSendMessages(fn);
    directory.grantReconcile(fn);
    tallyfySecret.grantRead(fn);
  }
  // A body with several events is split into a message each on the ingest queue.
  queues.ingest.grantSendMessages(ingestFunction);
  for (const { secret } of enabled) secret?.grantRead(ingestFunction);
  // A source that is an AWS service is read with the function's own role, on its resources only.
  const stack = Stack.of(ingestFunction);
  for (const { source } of enabled) {
    const grant = awsApiGrant(source, syncConfig[source.id], {
      partition: stack.partition,
      account: stack.account,
    });
    if (grant && "actions" in grant) ingestFunction.addToRolePolicy(new iam.PolicyStatement(grant));
  }
}
