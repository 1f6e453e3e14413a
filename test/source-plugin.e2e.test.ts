/**
 * Adding an identity source is one folder plus one registry line: a source that lives only in
 * test/ (`test/sources/hr-feed`) registers through the same contract as Okta and runs through the
 * real ingest and apply handlers, its configuration checked by its own schema.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { SOURCES } from "../handlers/sources/index.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../local/pipeline.js";
import { hrFeedSource } from "./sources/hr-feed/index.js";

/** The registry with one more line, as a real source would add it. */
const REGISTRY = [hrFeedSource, ...SOURCES];

const employees = new Map<string, object>([
  [
    "e1",
    {
      email: "hana@example.com",
      givenName: "Hana",
      familyName: "Ito",
      department: "Engineering",
      employed: true,
    },
  ],
  [
    "e2",
    { email: "raj@example.com", givenName: "Raj", familyName: "Rao", department: "Sales", employed: true },
  ],
]);

let hr: Server | undefined;
let pipeline: TestPipeline | undefined;

afterEach(async () => {
  await pipeline?.stop();
  await new Promise((resolve) => (hr ? hr.close(resolve) : resolve(undefined)));
  pipeline = undefined;
  hr = undefined;
});

/** A loopback HR API serving the employees above. */
async function startHr(): Promise<string> {
  hr = createServer((request, response) => {
    const id = decodeURIComponent(request.url?.split("/").pop() ?? "");
    const employee = employees.get(id);
    response.writeHead(employee ? 200 : 404, { "content-type": "application/json" });
    response.end(JSON.stringify(employee ?? { error: "not found" }));
  });
  await new Promise<void>((resolve) => hr?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(hr.address() as AddressInfo).port}`;
}

function notice(noticeId: string, employeeId: string): string {
  return JSON.stringify({ hrFeed: { noticeId, employeeId, at: "2026-11-30T10:00:00Z" } });
}

describe("a source added in one folder and one registry line", () => {
  it("applies its notices end to end, stamped with its id or recognised by shape", async () => {
    // Prepare
    const url = await startHr();
    pipeline = await startPipeline({
      sources: REGISTRY,
      environment: { HR_FEED_URL: url },
      config: { ...DEFAULT_TEST_CONFIG, "hr-feed": { guestDepartments: [] } },
    });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Sales" });

    // Act
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: notice("n1", "e1"),
        MessageAttributes: { source: { DataType: "String", StringValue: "hr-feed" } },
      }),
    );
    await pipeline.send(notice("n2", "e2"));
    await pipeline.drain();

    // Assess
    const hana = pipeline.tallyfy.memberByEmail("hana@example.com");
    const raj = pipeline.tallyfy.memberByEmail("raj@example.com");
    expect(hana?.first_name).toBe("Hana");
    expect(pipeline.tallyfy.groupByName("Engineering")?.members).toContain(hana?.id);
    expect(pipeline.tallyfy.groupByName("Sales")?.members).toContain(raj?.id);
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });

  it("routes by the source attribute before the body's shape", async () => {
    // Prepare: a body no source's shape claims but the canonical source's
    const url = await startHr();
    pipeline = await startPipeline({ sources: REGISTRY, environment: { HR_FEED_URL: url } });
    const body = JSON.stringify({ hrNotice: "e1" });

    // Act: once stamped by the HR feed's ingress, once not
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: body,
        MessageAttributes: { source: { DataType: "String", StringValue: "hr-feed" } },
      }),
    );
    await pipeline.send(body);
    await pipeline.drain();

    // Assess: the stamped one reached the HR feed's translate; the other fell to the canonical event
    const types = (await pipeline.deadLetters("ingest")).map((l) => l.errorType).sort();
    expect(types).toEqual(["HrFeedError", "InvalidEventError"]);
  });

  it("dead-letters a notice with its own error when the source is not set up, and leaves the others alone", async () => {
    // Prepare
    pipeline = await startPipeline({ sources: REGISTRY });

    // Act
    await pipeline.send(notice("n3", "e1"));
    await pipeline.drain();

    // Assess
    const [letter] = await pipeline.deadLetters("ingest");
    expect(letter?.errorType).toBe("HrFeedNotConfiguredError");
    expect(letter?.errorMessage).toContain("HR_FEED_URL");
  });

  it("checks its configuration key with its own schema, naming the bad key", async () => {
    // Act
    const attempt = startPipeline({
      sources: REGISTRY,
      config: { ...DEFAULT_TEST_CONFIG, "hr-feed": { guestDepartment: ["Sales"] } },
    });

    // Assess
    await expect(attempt).rejects.toThrow(/hr-feed: unknown key\(s\) guestDepartment/);
  });

  it("reads the body by its shape when the source attribute names no registered source", async () => {
    // Prepare: a producer of canonical events that sets an attribute of its own called "source"
    pipeline = await startPipeline();
    const canonical = {
      id: "evt-attr-1",
      type: "user.created",
      time: "2026-11-30T10:00:00Z",
      user: { email: "mo@example.com", firstName: "Mo", lastName: "Ali" },
    };

    // Act
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: JSON.stringify(canonical),
        MessageAttributes: { source: { DataType: "String", StringValue: "hr-system" } },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("mo@example.com")?.first_name).toBe("Mo");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  });
});
