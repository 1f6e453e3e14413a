/**
 * Full reconciliation on this machine, over a running {@link startPipeline}: the same engine the
 * full-sync function runs, with the pipeline's directory, reconcile queue and fake Tallyfy, the
 * report written to fauxqs's S3, and each "invocation" given the time a test chooses.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { FullSyncMetric } from "../handlers/contracts/full-sync.js";
import type { AnyIdentitySource } from "../handlers/core/source.js";
import { DynamoScimStore } from "../handlers/directory/scim-store.js";
import { FullSync, type FullSyncOptions, type FullSyncReport } from "../handlers/full-sync/full-sync.js";
import { s3ReportWriter } from "../handlers/full-sync/report-bucket.js";
import { FullSyncStore } from "../handlers/full-sync/store.js";
import { ReconcileQueue } from "../handlers/runtime/queues.js";
import { Pacer } from "../handlers/shared/pacer.js";
import { parseSyncConfig, SOURCES } from "../handlers/sources/index.js";
import { OktaClient } from "../handlers/sources/okta/client.js";
import { StaticOktaCredentials } from "../handlers/sources/okta/credentials.js";
import type { GroupRecord, UserRecord } from "../handlers/sources/scim/store.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { readSnapshot } from "../handlers/tallyfy/drift.js";
import type { FakeOkta } from "./fakes/fake-okta.js";
import type { TestPipeline } from "./pipeline.js";

export const REPORT_BUCKET = "tallyfy-idp-sync-reports";

export interface LocalFullSyncOptions {
  readonly config: Record<string, unknown>;
  readonly okta?: {
    readonly fake: FakeOkta;
    /** Users per page. @default 200 */
    readonly pageSize?: number;
    /** The full sync's share of the Okta budget, requests a minute. @default no pacing */
    readonly requestsPerMinute?: number;
  };
  readonly sources?: readonly AnyIdentitySource[];
  /** Clients of other listing sources, by source id (as each source's `connect` builds them). */
  readonly connections?: Readonly<Record<string, unknown>>;
  /** @default 0.05 */
  readonly maxDepartureShare?: number;
  readonly marginMs?: number;
  /** The clock the engine judges its deadline by. @default Date.now */
  readonly now?: () => number;
}

export async function localFullSync(pipeline: TestPipeline, options: LocalFullSyncOptions) {
  const s3 = new S3Client({
    endpoint: pipeline.awsEndpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: REPORT_BUCKET }));
  const sources = options.sources ?? SOURCES;
  const config = parseSyncConfig(JSON.stringify(options.config), "the test configuration", sources);
  const metrics: { name: FullSyncMetric; value: number }[] = [];
  const logs: { message: string; detail: Record<string, unknown> }[] = [];
  const okta =
    options.okta &&
    new OktaClient({
      credentials: new StaticOktaCredentials(options.okta.fake.url, "okta-test-token"),
      listPageSize: options.okta.pageSize,
      maxRateLimitWaitMs: 2_000,
      // The engine's clock judges the deadline its listing is given: the same one.
      now: options.now,
      pacer: options.okta.requestsPerMinute
        ? new Pacer({ perMinute: options.okta.requestsPerMinute })
        : undefined,
    });
  // As the deployed function's role reaches the table.
  const db = DynamoDBDocumentClient.from(pipeline.dynamo.clientAs("fullSync"));
  const scim = new DynamoScimStore<UserRecord, GroupRecord>(db, pipeline.dynamo.tableName);
  const tallyfy = new TallyfyClient({
    organizationId: pipeline.tallyfy.organizationId,
    baseUrl: pipeline.tallyfy.url,
    tokens: new StaticTokenSource("test-token"),
    now: options.now,
  });
  const build = (overrides: Partial<FullSyncOptions> = {}) =>
    new FullSync({
      queue: new ReconcileQueue(pipeline.sqs, pipeline.queues.reconcile.url, pipeline.queues.departures.url),
      directory: pipeline.directoryAs("fullSync"),
      store: new FullSyncStore(db, pipeline.dynamo.tableName),
      sources,
      // As the deployed function: Okta's client, and the SCIM endpoint's store in the same table.
      connection: (source) =>
        source.id === "okta" ? okta : source.id === "scim" ? scim : options.connections?.[source.id],
      config,
      tallyfy: () => readSnapshot(tallyfy),
      writeReport: s3ReportWriter(s3, REPORT_BUCKET),
      maxDepartureShare: options.maxDepartureShare,
      marginMs: options.marginMs ?? 200,
      now: options.now,
      onMetric: (name, value) => metrics.push({ name, value }),
      log: (message, detail) => logs.push({ message, detail }),
      ...overrides,
    });
  return {
    metrics,
    logs,
    /** One invocation, in a container of its own. */
    step(input: { readonly runId?: string }, deadline: number) {
      return build().step(input, deadline);
    },
    /** Invokes until the run is done, each invocation with `invocationMs`; returns the invocations' results. */
    async run(invocationMs = 60_000, maxInvocations = 1_000) {
      const steps = [];
      let runId: string | undefined;
      for (let i = 0; i < maxInvocations; i++) {
        // A container per invocation, as Lambda may give: nothing carries over but the table.
        const step = await build().step({ runId }, Date.now() + invocationMs);
        steps.push(step);
        runId = step.runId;
        if (step.done) return steps;
      }
      throw new Error(`the run did not finish in ${maxInvocations} invocations`);
    },
    /** The report a run wrote. */
    async report(address: string): Promise<FullSyncReport> {
      const [, , bucket = "", ...key] = address.split("/");
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key.join("/") }));
      return JSON.parse(await (object.Body?.transformToString() ?? "{}")) as FullSyncReport;
    },
    async lastReport(): Promise<FullSyncReport> {
      const state = await new FullSyncStore(
        DynamoDBDocumentClient.from(pipeline.dynamo.client),
        pipeline.dynamo.tableName,
      ).run();
      if (!state?.report) throw new Error("no run has written a report");
      return this.report(state.report);
    },
  };
}
