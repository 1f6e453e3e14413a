import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLetters, release } from "../cli/dlq.js";
import { main } from "../cli/main.js";
import { printable } from "../cli/terminal.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { ACME_CONFIG, seedAcme } from "../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";

let okta: FakeOkta;
let pipeline: TestPipeline;

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
});

afterEach(async () => {
  await pipeline.stop();
  await okta.stop();
});

function capture() {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

async function run(args: string[]) {
  const out = capture();
  const err = capture();
  process.env.OKTA_API_TOKEN = "okta-test-token";
  process.env.TALLYFY_TOKEN = "test-token";
  // The AWS SDK's ordinary credential and region chain, as an operator's shell has them.
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  process.env.AWS_REGION = "us-east-1";
  const code = await main(args, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}

describe("tallyfy-idp-sync plan", () => {
  it("prints the changes a full reconciliation would make, and only reads", async () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
    const configFile = path.join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify(ACME_CONFIG));
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addMember({
      email: "alice.nguyen@example.com",
      first_name: "Alice",
      last_name: "Nguyen",
      role: "light",
    });
    pipeline.tallyfy.addMember({ email: "mallory@example.com", first_name: "Mal", last_name: "Lory" });
    pipeline.tallyfy.requests.length = 0;
    const args = [
      "plan",
      "--config",
      configFile,
      "--okta-url",
      okta.url,
      "--tallyfy-url",
      pipeline.tallyfy.url,
      "--tallyfy-organization",
      pipeline.tallyfy.organizationId,
    ];

    // Act
    const text = await run(args);
    const json = await run([...args, "--json"]);

    // Assess
    expect(text.code).toBe(0);
    expect(text.out).toContain("okta: 2 users listed");
    expect(text.out).toMatch(/alice\.nguyen@example\.com\n {2}~ role: light -> admin/);
    expect(text.out).toMatch(/dev\.patel@example\.com\n {2}\+ invite: no member in Tallyfy/);
    expect(text.out).toMatch(/Engineering\n {2}\+ group-add: alice\.nguyen@example\.com/);
    expect(text.out).toContain("member mallory@example.com");
    expect(text.out).toContain("Plan: 1 to invite, 3 to change, 0 to deprovision; 1 unmanaged.");
    expect(text.err).toMatch(/listing okta: #+ 2 users/);
    const plan = JSON.parse(json.out);
    expect(plan.unmanaged.members).toEqual(["mallory@example.com"]);
    expect(plan.changes).toHaveLength(4);
    expect(pipeline.tallyfy.requests.filter((r) => r.method !== "GET" && r.path !== "/oauth/token")).toEqual(
      [],
    );
    expect(okta.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(okta.requests.map((r) => r.path)).toContain("/api/v1/users");
  });

  it("answers --help", async () => {
    // Act
    const help = await run(["plan", "--help"]);

    // Assess
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: tallyfy-idp-sync plan/);
  });
});

describe("tallyfy-idp-sync dlq", () => {
  it("lists dead letters by error type, redrives one type and purges another", async () => {
    // Prepare
    const dlq = pipeline.queues.ingestDeadLetter.url;
    const letter = (type: string, body: string) =>
      pipeline.sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: body,
          MessageAttributes: {
            errorType: { DataType: "String", StringValue: type },
            errorMessage: { DataType: "String", StringValue: `${type} happened` },
          },
        }),
      );
    await letter("OktaApiError", '{"a":1}');
    await letter("OktaApiError", '{"a":2}');
    await letter("InvalidEventError", '{"b":1}');
    const common = ["--queue-url", dlq, "--endpoint", pipeline.awsEndpoint];

    // Act
    const listed = await run(["dlq", "list", ...common, "--json"]);
    const refused = await run(["dlq", "purge", ...common, "--type", "InvalidEventError"]);
    const redriven = await run([
      "dlq",
      "redrive",
      ...common,
      "--type",
      "OktaApiError",
      "--to",
      pipeline.queues.ingest.url,
      "--json",
    ]);
    const purged = await run(["dlq", "purge", ...common, "--type", "InvalidEventError", "--yes", "--json"]);
    const after = await run(["dlq", "list", ...common, "--json"]);

    // Assess
    expect(JSON.parse(listed.out)).toEqual([
      expect.objectContaining({ errorType: "OktaApiError", count: 2, example: "OktaApiError happened" }),
      expect.objectContaining({ errorType: "InvalidEventError", count: 1 }),
    ]);
    expect(refused.code).toBe(2);
    expect(JSON.parse(redriven.out)).toEqual({ redriven: 2 });
    expect(JSON.parse(purged.out)).toEqual({ purged: 1 });
    expect(JSON.parse(after.out)).toEqual([]);
  });
});

describe("what the commands print", () => {
  it("holds no terminal control characters from a dead letter's reason or body, and keeps the rest", async () => {
    // Prepare
    const dlq = pipeline.queues.ingestDeadLetter.url;
    // What SQS lets through (it refuses C0 controls but tab, LF and CR, as AWS does): an 8-bit
    // CSI, a bidi override and a carriage return.
    const hostile = "\u009b2J\u009d0;owned\u009c\u202eevil\r";
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: `{"name":"${hostile}"}`,
        MessageAttributes: {
          errorType: { DataType: "String", StringValue: "InvalidEventError" },
          errorMessage: { DataType: "String", StringValue: `group ${hostile} is not mapped` },
        },
      }),
    );
    const common = ["--queue-url", dlq, "--endpoint", pipeline.awsEndpoint];

    // Act
    const listed = await run(["dlq", "list", ...common]);
    const letters = await readLetters(pipeline.sqs, dlq);
    await release(pipeline.sqs, dlq, letters);
    const shown = await run(["dlq", "show", letters[0]?.id ?? "none", ...common]);

    // Assess
    for (const text of [listed.out, shown.out]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters.
      expect(text).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]|\p{Bidi_Control}/u);
      expect(text).toContain("evil");
    }
    expect(listed.out).toContain("group 2J0;ownedevil is not mapped");
  });

  it("takes out every control character of any string, escape sequences included, and keeps every other", () => {
    // Prepare, Act, Assess
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const shown = printable(`\u001b[31m${text}\u0007`);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters.
        expect(shown).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]|\p{Bidi_Control}/u);
        expect(shown).toBe(`[31m${[...text].filter((c) => printable(c) === c).join("")}`);
      }),
    );
  });
});

describe("tallyfy-idp-sync holds", () => {
  it("lists the held departures with why, approves one by email, and says which named person was not held", async () => {
    // Prepare: every departure held; two people leave.
    pipeline.reconfigure({ ...ACME_CONFIG, departureBrake: { maxPerWindow: 0, maxShare: 0 } });
    const people = ["ana@example.com", "ben@example.com"];
    const time = (minute: number) => `2026-11-23T10:0${minute}:00Z`;
    for (const who of people) {
      await pipeline.send({
        id: `in-${who}`,
        type: "user.created",
        time: time(0),
        user: { email: who, firstName: "A", lastName: "B" },
      });
    }
    await pipeline.drain();
    for (const who of people)
      await pipeline.send({
        id: `out-${who}`,
        type: "user.deactivated",
        time: time(1),
        user: { email: who },
      });
    await pipeline.drain();
    const common = [
      "--table",
      pipeline.dynamo.tableName,
      "--dynamodb-endpoint",
      pipeline.dynamo.endpoint,
      "--endpoint",
      pipeline.awsEndpoint,
    ];

    // Act
    const listed = await run(["holds", "list", ...common]);
    const approved = await run([
      "holds",
      "approve",
      "ana@example.com",
      "carl@example.com",
      ...common,
      "--queue-url",
      pipeline.queues.reconcile.url,
      "--by",
      "it-admin",
    ]);
    await pipeline.drain();
    const after = await run(["holds", "list", ...common, "--json"]);
    const help = await run(["holds", "--help"]);

    // Assess
    expect(listed.out).toMatch(
      /^Held \(still active in Tallyfy\):\n {2}ana@example\.com {2}\(canonical, held /,
    );
    expect(listed.out).toContain("canonical already had 0 departures applied in the last 15 minutes");
    expect(approved.code).toBe(1);
    expect(approved.out).toBe(
      "1 approved: ana@example.com\nnot held now, left as they are: carl@example.com\n",
    );
    expect(pipeline.tallyfy.memberByEmail("ana@example.com")?.status).toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("ben@example.com")?.status).not.toBe("disabled");
    expect(JSON.parse(after.out).map((h: { email: string }) => h.email)).toEqual(["ben@example.com"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: tallyfy-idp-sync holds <list\|approve\|reject>/);
  });
});
