/**
 * The operators' command line: `plan` (what a full reconciliation would change; reads only),
 * `dlq` (the dead-letter queues) and `holds` (departures the departure brake held). Run as `npx tallyfy-idp-sync <command> --help`.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Directory } from "../handlers/directory/directory.js";
import { documentClient, sqsClient } from "../handlers/runtime/function-environment.js";
import { ReconcileQueue } from "../handlers/runtime/queues.js";
import { parseSyncConfig, SOURCES } from "../handlers/sources/index.js";
import { purge, readLetters, redrive, release, summarise } from "./dlq.js";
import { decideHolds, listHolds, renderHolds } from "./holds.js";
import { deployedPlanClients, localPlanClients, plan, renderPlan } from "./plan.js";
import { readDeployedSettings, readStackOutputs, StackLookupError } from "./stack.js";
import { printableStream } from "./terminal.js";

const PLAN_HELP = `Usage: tallyfy-idp-sync plan --stack <name> [--json]
       tallyfy-idp-sync plan --config <file> --tallyfy-url <url> --tallyfy-organization <id> [options]

Prints what a full reconciliation would change, grouped by person and group. Reads only.

  --stack <name>                a deployed stack: its configuration (the apply function's), its
                                secrets and its directory, read with your AWS credentials

  --config <file>               the sync configuration (the JSON the stack bundles with its functions)
  --tallyfy-url <url>           Tallyfy's API base URL (token from TALLYFY_TOKEN)
  --tallyfy-organization <id>   the Tallyfy organization id
  --okta-url <url>              the Okta org URL (token from OKTA_API_TOKEN); omitted: Okta is not listed
  --table <name>                the directory table, to know whom the sync manages and infer departures
  --dynamodb-endpoint <url>     a DynamoDB endpoint other than AWS's (local runs)
  --json                        the plan as JSON
  -h, --help                    this text`;

const DLQ_HELP = `Usage: tallyfy-idp-sync dlq <list|show|redrive|purge> --stack <name> [--queue ingest|reconcile] [options]
       tallyfy-idp-sync dlq <list|show|redrive|purge> --queue-url <url> [options]

  list                              reasons grouped by error type, with counts and the oldest
  show <message id>                 one letter: its reason and body
  redrive --to <queue url> [--type <errorType>]   send letters back to their queue
  purge --type <errorType> --yes    delete every letter of one error type

  --stack <name>       the deployed stack: its dead-letter queues and, for redrive, their source queues
  --queue <which>      ingest, reconcile or eventbridge (default: every one for list, ingest for the others)
  --queue-url <url>    a dead-letter queue by URL instead (the stack's IngestDeadLetterQueueUrl or ReconcileDeadLetterQueueUrl output)
  --endpoint <url>     an SQS endpoint other than AWS's (local runs)
  --json               machine-readable output`;

const HOLDS_HELP = `Usage: tallyfy-idp-sync holds <list|approve|reject> --stack <name> [options]
       tallyfy-idp-sync holds <list|approve|reject> --table <name> [--queue-url <url>] [options]

Departures the departure brake held (sync.departureBrake): the people are still active in Tallyfy.

  list                          held departures with why, then the people kept and those approved
  approve --all | <email>...    apply exactly these held departures (--all: every one held now)
  reject --all | <email>...     keep these people: their departures are not applied (recorded)

  --stack <name>                the deployed stack: its directory and reconcile queue, from its outputs
  --table <name>                the directory table, instead of --stack
  --queue-url <url>             the queue a decided person's reconcile goes to, instead of --stack
  --by <name>                   who decides, as recorded (default: your user name)
  --dynamodb-endpoint <url>     a DynamoDB endpoint other than AWS's (local runs)
  --endpoint <url>              an SQS endpoint other than AWS's (local runs)
  --json                        machine-readable output
  -h, --help                    this text`;

/** Each dead-letter queue, by `--queue`, with the stack outputs of it and of where its letters go back. */
const QUEUES: Readonly<Record<string, { readonly deadLetters: string; readonly target: string }>> = {
  ingest: { deadLetters: "IngestDeadLetterQueueUrl", target: "IngestQueueUrl" },
  reconcile: { deadLetters: "ReconcileDeadLetterQueueUrl", target: "ReconcileQueueUrl" },
  eventbridge: { deadLetters: "EventBridgeDeadLetterQueueUrl", target: "IngestQueueUrl" },
};

export async function main(
  argv: readonly string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  // Names and reasons come from identity providers: nothing they hold may drive the terminal.
  const out = printableStream(stdout);
  const err = printableStream(stderr, true);
  const [command, ...rest] = argv;
  try {
    if (command === "plan") return await planCommand(rest, out, err);
    if (command === "dlq") return await dlqCommand(rest, out);
    if (command === "holds") return await holdsCommand(rest, out, err);
  } catch (error) {
    if (!(error instanceof StackLookupError)) throw error;
    err.write(`${error.message}\n`);
    return 1;
  }
  out.write(`Usage: tallyfy-idp-sync <plan|dlq|holds> --help\n`);
  return command === "--help" || command === "-h" ? 0 : 2;
}

async function planCommand(args: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) {
  const { values } = parseArgs({
    args: [...args],
    options: {
      stack: { type: "string" },
      config: { type: "string" },
      "tallyfy-url": { type: "string" },
      "tallyfy-organization": { type: "string" },
      "okta-url": { type: "string" },
      table: { type: "string" },
      "dynamodb-endpoint": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    out.write(`${PLAN_HELP}\n`);
    return 0;
  }
  const local = values.config && values["tallyfy-url"] && values["tallyfy-organization"];
  if (!values.stack && !local) {
    err.write(`${PLAN_HELP}\n`);
    return 2;
  }
  const outputs = values.stack ? await readStackOutputs(values.stack) : undefined;
  const deployed = outputs && (await readDeployedSettings(outputs));
  const config = deployed
    ? parseSyncConfig(deployed.syncConfig, `stack ${values.stack}'s configuration`)
    : parseSyncConfig(readFileSync(values.config ?? "", "utf8"), values.config);
  const clients =
    deployed && outputs
      ? deployedPlanClients(deployed, outputs.get("DirectoryTableName"))
      : localPlanClients(
          {
            oktaUrl: values["okta-url"],
            tallyfyUrl: values["tallyfy-url"] ?? "",
            tallyfyOrganization: values["tallyfy-organization"] ?? "",
            table: values.table,
            dynamodbEndpoint: values["dynamodb-endpoint"],
          },
          process.env,
        );
  const sources = SOURCES.filter((s) => s.id !== "okta" || clients.okta);
  const result = await plan({
    config,
    sources,
    connection: (source) => (source.id === "okta" ? clients.okta : undefined),
    tallyfy: clients.tallyfy,
    store: clients.store,
    // A progress line on stderr, so stdout stays the plan (and --json stays parseable).
    onProgress: (source, listed) =>
      err.write(
        `\rlisting ${source}: ${"#".repeat(Math.min(40, Math.ceil(Math.log2(listed + 1) * 3)))} ${listed} users`,
      ),
  });
  err.write("\n");
  out.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderPlan(result)}\n`);
  return 0;
}

async function holdsCommand(args: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      table: { type: "string" },
      "queue-url": { type: "string" },
      by: { type: "string" },
      all: { type: "boolean", default: false },
      "dynamodb-endpoint": { type: "string" },
      endpoint: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, ...emails] = positionals;
  if (values.help) {
    out.write(`${HOLDS_HELP}\n`);
    return 0;
  }
  const deciding = action === "approve" || action === "reject";
  if (
    !(action === "list" || deciding) ||
    !(values.stack || values.table) ||
    (deciding && values.all === emails.length > 0)
  ) {
    err.write(`${HOLDS_HELP}\n`);
    return 2;
  }
  const outputs = values.stack ? await readStackOutputs(values.stack) : undefined;
  const table = values.table ?? outputs?.get("DirectoryTableName") ?? "";
  const dynamo = new DynamoDBClient(
    values["dynamodb-endpoint"] ? { endpoint: values["dynamodb-endpoint"] } : {},
  );
  const { holds } = new Directory(documentClient(dynamo), table);
  const print = (value: unknown, text: string) =>
    out.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
  if (action === "list") {
    const list = await listHolds({ holds });
    print(list, renderHolds(list));
    return 0;
  }
  const queueUrl =
    values["queue-url"] ?? outputs?.find("DeparturesQueueUrl") ?? outputs?.get("ReconcileQueueUrl");
  if (!queueUrl) {
    err.write("approve and reject need --queue-url <url> (the stack's DeparturesQueueUrl output)\n");
    return 2;
  }
  const sqs = values.endpoint ? new SQSClient({ endpoint: values.endpoint }) : sqsClient();
  const queue = new ReconcileQueue(sqs, queueUrl);
  const state = action === "approve" ? "approved" : "rejected";
  const result = await decideHolds(
    { holds, reconcile: (messages) => queue.send(messages) },
    { state, by: values.by ?? userInfo().username },
    values.all ? "all" : emails,
  );
  print(
    result,
    [
      `${result.decided.length} ${state}${result.decided.length > 0 ? `: ${result.decided.join(", ")}` : ""}`,
      ...(result.notHeld.length > 0 ? [`not held now, left as they are: ${result.notHeld.join(", ")}`] : []),
    ].join("\n"),
  );
  return result.notHeld.length > 0 ? 1 : 0;
}

async function dlqCommand(args: readonly string[], out: NodeJS.WritableStream) {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      queue: { type: "string" },
      "queue-url": { type: "string" },
      endpoint: { type: "string" },
      to: { type: "string" },
      type: { type: "string" },
      yes: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, id] = positionals;
  if (values.help || !action || !(values["queue-url"] || values.stack)) {
    out.write(`${DLQ_HELP}\n`);
    return values.help ? 0 : 2;
  }
  const which = QUEUES[values.queue ?? "ingest"];
  if (!which) {
    out.write("--queue is ingest, reconcile or eventbridge\n");
    return 2;
  }
  const outputs = values.stack ? await readStackOutputs(values.stack) : undefined;
  const queueUrl = values["queue-url"] ?? outputs?.get(which.deadLetters) ?? "";
  // Each dead-letter queue's letters go back to the queue they came from (EventBridge's: ingest).
  const redriveTo = values.to ?? outputs?.get(which.target);
  if (action === "list" && outputs && values.queue === undefined && !values["queue-url"]) {
    const sqs = values.endpoint ? new SQSClient({ endpoint: values.endpoint }) : sqsClient();
    const both = [];
    for (const [name, queue] of Object.entries(QUEUES)) {
      // The EventBridge dead-letter queue exists only with an EventBridge rule.
      const url = outputs.find(queue.deadLetters);
      if (url === undefined) continue;
      const letters = await readLetters(sqs, url);
      await release(sqs, url, letters);
      both.push({ queue: name, summary: summarise(letters) });
    }
    out.write(
      values.json
        ? `${JSON.stringify(both, null, 2)}\n`
        : `${both
            .map(
              ({ queue, summary }) =>
                `${queue}:\n${summary.map((s) => `  ${s.count}\t${s.errorType}\toldest ${s.oldest}\t${s.example}`).join("\n") || "  no dead letters"}`,
            )
            .join("\n")}\n`,
    );
    return 0;
  }
  const sqs = values.endpoint ? new SQSClient({ endpoint: values.endpoint }) : sqsClient();
  const print = (value: unknown, text: string) =>
    out.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
  switch (action) {
    case "list": {
      const letters = await readLetters(sqs, queueUrl);
      await release(sqs, queueUrl, letters);
      const summary = summarise(letters);
      print(
        summary,
        summary.map((s) => `${s.count}\t${s.errorType}\toldest ${s.oldest}\t${s.example}`).join("\n") ||
          "no dead letters",
      );
      return 0;
    }
    case "show": {
      const letters = await readLetters(sqs, queueUrl);
      await release(sqs, queueUrl, letters);
      const letter = letters.find((l) => l.id === id);
      if (!letter) {
        out.write(`no dead letter ${id}\n`);
        return 1;
      }
      const { receipt: _receipt, ...shown } = letter;
      print(
        shown,
        `${letter.errorType}: ${letter.errorMessage}\nsent ${new Date(letter.sentAt).toISOString()}\n${letter.body}`,
      );
      return 0;
    }
    case "redrive": {
      if (!redriveTo) {
        out.write(
          "redrive needs --to <queue url> (the stack's IngestQueueUrl or ReconcileQueueUrl output)\n",
        );
        return 2;
      }
      const moved = await redrive(sqs, queueUrl, redriveTo, values.type);
      print({ redriven: moved }, `${moved} letters sent back`);
      return 0;
    }
    case "purge": {
      if (!values.type || !values.yes) {
        out.write("purge deletes for good: give --type <errorType> and --yes\n");
        return 2;
      }
      const deleted = await purge(sqs, queueUrl, values.type);
      print({ purged: deleted }, `${deleted} letters deleted`);
      return 0;
    }
    default:
      out.write(`${DLQ_HELP}\n`);
      return 2;
  }
}
