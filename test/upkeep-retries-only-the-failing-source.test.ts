/**
 * The subscription function answers with a partial batch: when one source's subscriptions fail,
 * only the messages that asked for that source are tried again, and the other source's run is
 * not repeated. The mapping asks Lambda to read that answer.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type { AnyIdentitySource, MaintainReport } from "../handlers/core/source.js";
import { IngestQueue } from "../handlers/runtime/queues.js";
import { createUpkeepHandler } from "../handlers/runtime/upkeep-handler.js";
import { parseSyncConfig } from "../handlers/sources/index.js";
import { synthFullFeatured } from "./stack/full-featured.js";

/** A source whose upkeep reports `failed`, counting its runs. */
function subscribing(id: string, failed: string[]) {
  const runs: number[] = [];
  const source: AnyIdentitySource = {
    id,
    recognise: () => false,
    translate: async () => ({ status: "ignored", reason: "not used", about: { kind: "test" } }),
    maintainSubscriptions: async (): Promise<MaintainReport> => {
      runs.push(1);
      return { created: [], renewed: [], stopped: [], failed };
    },
  };
  return { source, runs };
}

const message = (messageId: string, source: string) => ({ messageId, body: JSON.stringify({ source }) });

describe("the subscription function's batch", () => {
  it("returns only the failing source's messages, so the other source's run is not repeated", async () => {
    // Prepare
    const healthy = subscribing("alpha", []);
    const broken = subscribing("beta", ["subscription refused: 403"]);
    const handler = createUpkeepHandler({
      config: () => parseSyncConfig("{}", "the test configuration"),
      sources: [healthy.source, broken.source],
      connection: () => undefined,
      state: () => ({ get: async () => undefined, put: async () => {}, delete: async () => {} }),
      webhook: async () => ({ url: "https://example.com/hook", secret: "s" }),
      ingest: new IngestQueue(
        new SQSClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9" }),
        "http://127.0.0.1:9/q",
      ),
    });
    const batch = {
      Records: [message("m1", "alpha"), message("m2", "beta"), message("m3", "beta")],
    } as SQSEvent;

    // Act
    const answer = await handler(batch);

    // Assess
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m2", "m3"]);
    expect([healthy.runs.length, broken.runs.length]).toEqual([1, 1]);
  });

  it("is mapped with partial batch responses reported", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")).filter((m) =>
      JSON.stringify(m.Properties.EventSourceArn).includes("SubscriptionUpkeepQueue"),
    );

    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
  });
});
