/**
 * The full reconciliation of a large directory, as deployed: the full-sync handler bundled as the
 * stack bundles it, each invocation in a fresh Node process (a container of its own, the most
 * memory a run can cost one), given the function's timeout, against Okta, Tallyfy, Secrets
 * Manager, SQS, S3 and DynamoDB on loopback (dynalite in a process of its own).
 *
 * Okta lists `people` users in `groups` groups (each mapped to a Tallyfy group of its name, each
 * person in one to three); Tallyfy has the same people. The first run records everyone (a new
 * deployment); then 1% of the people drift in each way (missing from Tallyfy, wrong role, in a
 * Tallyfy group they should not be in, departed from Okta, and as many unmanaged members added
 * by hand) and a second run finds them. Measured per invocation: its peak resident memory (what
 * Lambda reports as Max Memory Used) and its wall time; per run: the Tallyfy and Okta requests,
 * the DynamoDB requests per person and what the run found.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { FULL_SYNC_MEMORY_MB, FULL_SYNC_STEP_TIMEOUT_MS } from "../handlers/contracts/full-sync.js";
import { startLocalDynamo } from "../local/dynamodb.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalSqs } from "../local/event-source.js";
import { FakeOkta, type FakeOktaUser } from "../local/fakes/fake-okta.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { type FakeGroup, type FakeMember, FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { bundle } from "./cold-start.js";

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The JavaScript heap each invocation may grow to: half the function's memory. A step whose live
 * objects do not fit dies out of memory, as it would in Lambda with twice as much.
 */
const HEAP_MB = FULL_SYNC_MEMORY_MB / 2;

export interface Invocation {
  readonly ms: number;
  readonly maxRssMb: number;
  readonly done: boolean;
  /** Why the process died (out of memory), when it did. */
  readonly failed?: string;
}

export interface FullSyncRun {
  readonly name: string;
  readonly invocations: readonly Invocation[];
  readonly tallyfyRequests: number;
  readonly oktaRequests: number;
  readonly dynamoRequestsPerPerson: number;
  readonly report: Record<string, unknown>;
}

export interface FullSyncScaleResult {
  readonly people: number;
  readonly groups: number;
  /** The run's end over this many people: the directory and Tallyfy grown from the runs' own. */
  readonly finishPeople: number;
  /** A fresh Node process that imports the bundle and returns: what any invocation costs. */
  readonly idleMaxRssMb: number;
  readonly memoryMb: number;
  readonly heapMb: number;
  readonly runs: readonly FullSyncRun[];
  /** The run's end at `finishPeople`, once per function memory tried. */
  readonly finishes: readonly FullSyncRun[];
}

const RUNNER = `
import { writeFileSync } from "node:fs";
const { handler } = await import(process.env.BENCH_BUNDLE);
const started = Date.now();
const deadline = started + Number(process.env.BENCH_TIMEOUT_MS);
const input = process.env.BENCH_RUN_ID ? { runId: process.env.BENCH_RUN_ID } : {};
const result = process.env.BENCH_IDLE ? { done: true } : await handler(input, { getRemainingTimeInMillis: () => deadline - Date.now() });
writeFileSync(process.env.BENCH_OUT, JSON.stringify({ result, ms: Date.now() - started, maxRssKb: process.resourceUsage().maxRSS }));
`;

export async function measureFullSyncAtScale(options: {
  readonly people: number;
  readonly groups: number;
  readonly finishPeople: number;
  /** Function memories to try the run's end at. @default the stack's */
  readonly finishMemoriesMb?: readonly number[];
}): Promise<FullSyncScaleResult> {
  const { people, groups, finishPeople } = options;
  const dir = path.join(tmpdir(), `tallyfy-full-sync-scale-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const okta = await FakeOkta.start();
  const tallyfy = await FakeTallyfy.start();
  const secrets = await FakeSecretsManager.start();
  const sqs = await startLocalSqs();
  const dynamo = await startLocalDynamo(undefined, { process: "own" });
  try {
    // Okta and Tallyfy, in step.
    const names = Array.from({ length: groups }, (_, g) => `Team ${String(g).padStart(3, "0")}`);
    const oktaGroups = names.map((name) => okta.addGroup(name));
    const tallyfyGroups = names.map((name) => tallyfy.addGroup({ name }));
    const users: { user: FakeOktaUser; member: FakeMember }[] = [];
    for (let n = 0; n < people; n++) {
      const email = `person${n}@example.com`;
      const user = okta.addUser({ login: email, email, firstName: "Person", lastName: `N${n}` });
      const member = tallyfy.addMember({ email, first_name: "Person", last_name: `N${n}` });
      for (let k = 0; k <= n % 3; k++) {
        const g = (n * 7 + k * 131) % groups;
        okta.addToGroup(user.id, oktaGroups[g]?.id ?? "");
        tallyfyGroups[g]?.members.push(member.id);
      }
      users.push({ user, member });
    }
    const config = {
      memberDomains: ["example.com"],
      defaultRole: "standard",
      roles: { admin: [], standard: [], light: [] },
      groups: Object.fromEntries(names.map((name) => [name, name])),
      deprovision: "disable",
    };
    secrets.secrets.set("tallyfy", JSON.stringify({ accessToken: "test-token" }));
    secrets.secrets.set("okta", JSON.stringify({ orgUrl: okta.url, apiToken: "okta-test-token" }));
    const s3 = new S3Client({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "full-sync-reports" }));
    const handlerFile = await bundle(
      { name: "full-sync", file: path.join(root, "handlers", "full-sync.ts") },
      dir,
    );
    const runnerFile = path.join(dir, "runner.mjs");
    writeFileSync(runnerFile, RUNNER);
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_S3: sqs.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "WARN",
      SYNC_CONFIG: JSON.stringify(config),
      RECONCILE_QUEUE_URL: sqs.queues.reconcile.url,
      DEPARTURES_QUEUE_URL: sqs.queues.departures.url,
      DIRECTORY_TABLE_NAME: dynamo.tableName,
      REPORT_BUCKET_NAME: "full-sync-reports",
      TALLYFY_SECRET_ID: "tallyfy",
      TALLYFY_ORG_ID: tallyfy.organizationId,
      TALLYFY_API_URL: tallyfy.url,
      OKTA_SECRET_ID: "okta",
      BENCH_BUNDLE: handlerFile,
      BENCH_TIMEOUT_MS: String(FULL_SYNC_STEP_TIMEOUT_MS),
      BENCH_OUT: path.join(dir, "out.json"),
    };
    const invoke = async (extra: Record<string, string>, heapMb = HEAP_MB) => {
      rmSync(env.BENCH_OUT, { force: true });
      const started = Date.now();
      const failed = await run(process.execPath, [`--max-old-space-size=${heapMb}`, runnerFile], {
        env: { ...env, ...extra },
        maxBuffer: 1 << 26,
      }).then(
        () => undefined,
        (error: { stderr?: string; message: string }) =>
          /heap out of memory/i.test(error.stderr ?? "")
            ? "out of memory"
            : // The error's own line, not its stack.
              (/^\w*Error\b.*$/m.exec(error.stderr ?? "")?.[0] ??
              (error.stderr ?? error.message).slice(-500)),
      );
      if (failed) return { result: { done: true }, ms: Date.now() - started, maxRssKb: Number.NaN, failed };
      return JSON.parse(readFileSync(env.BENCH_OUT, "utf8")) as {
        result: { done: boolean; runId?: string; report?: string };
        ms: number;
        maxRssKb: number;
        failed?: string;
      };
    };
    const idle = await invoke({ BENCH_IDLE: "1" });

    const fullRun = async (name: string): Promise<FullSyncRun> => {
      const before = {
        tallyfy: tallyfy.requests.length,
        okta: okta.requests.length,
        dynamo: [...(await dynamo.operations()).values()].reduce((a, b) => a + b, 0),
      };
      const invocations: Invocation[] = [];
      let runId: string | undefined;
      let reportAddress: string | undefined;
      for (let i = 0; i < 200; i++) {
        const out = await invoke(runId ? { BENCH_RUN_ID: runId } : {});
        invocations.push({
          ms: out.ms,
          maxRssMb: out.maxRssKb / 1024,
          done: out.result.done,
          failed: out.failed,
        });
        runId = out.result.runId;
        reportAddress = out.result.report;
        if (out.result.done) break;
      }
      const dynamoAfter = [...(await dynamo.operations()).values()].reduce((a, b) => a + b, 0);
      return {
        name,
        invocations,
        tallyfyRequests: tallyfy.requests.length - before.tallyfy,
        oktaRequests: okta.requests.length - before.okta,
        dynamoRequestsPerPerson: (dynamoAfter - before.dynamo) / people,
        report: { address: reportAddress },
      };
    };

    const first = await fullRun("first run (a new deployment: everyone recorded)");
    // 1% drift of every kind, on distinct people.
    const share = Math.max(1, Math.floor(people / 100));
    const slice = (k: number) => users.slice(k * share, (k + 1) * share);
    for (const { member } of slice(0)) tallyfy.members.delete(member.id);
    for (const { member } of slice(1)) member.role = "light";
    for (const { member } of slice(2)) tallyfyGroups[(member.id * 13) % groups]?.members.push(member.id);
    for (const { user } of slice(3)) okta.deleteUser(user.id);
    for (let n = 0; n < share; n++) tallyfy.addMember({ email: `by-hand${n}@example.com` });
    const steady = await fullRun("second run (1% drift of every kind)");

    // The run's end (one invocation reads everyone and all of Tallyfy) at `finishPeople`: the
    // directory's people and links as the runs wrote them, copied under new emails and ids, and
    // Tallyfy's members likewise; 1% of the copies' links were not seen by the run (departures).
    const db = DynamoDBDocumentClient.from(dynamo.client);
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: dynamo.tableName,
          FilterExpression: "begins_with(pk, :p) OR begins_with(pk, :l)",
          ExpressionAttributeValues: { ":p": "person#", ":l": "link#" },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const runId = "bench-finish";
    const copies = Math.ceil(finishPeople / people) - 1;
    const members = [...tallyfy.members.values()];
    const groupsOf = new Map<number, FakeGroup[]>();
    for (const group of tallyfy.groups.values()) {
      for (const id of group.members) groupsOf.set(id, [...(groupsOf.get(id) ?? []), group]);
    }
    for (let k = 1; k <= copies; k++) {
      const renamed = (text: string) => text.replaceAll("@example.com", `.copy${k}@example.com`);
      // Tallyfy's copies first: a person's item keeps the member id Tallyfy gave their copy.
      const memberIds = new Map<string, number>();
      for (const { id, ...member } of members) {
        const copy = tallyfy.addMember({ ...member, email: renamed(member.email) });
        memberIds.set(copy.email, copy.id);
        for (const group of groupsOf.get(id) ?? []) group.members.push(copy.id);
      }
      const batch = items.map((item, i) => {
        const copy = JSON.parse(renamed(JSON.stringify(item))) as Record<string, unknown>;
        if (String(copy.pk).startsWith("link#")) {
          copy.pk = `${String(item.pk)}.copy${k}`;
          copy.seen = i % 100 === 0 ? "an earlier run" : runId;
        } else if (copy.memberId !== undefined) {
          copy.memberId = memberIds.get(String(copy.email));
        }
        return copy;
      });
      for (let i = 0; i < batch.length; i += 25) {
        await db.send(
          new BatchWriteCommand({
            RequestItems: {
              [dynamo.tableName]: batch.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
            },
          }),
        );
      }
    }
    // The run's end, at each function memory asked for (its heap capped at half), each from the
    // same run state: the smallest that holds it is what the function needs.
    const finishes: FullSyncRun[] = [];
    for (const memoryMb of options.finishMemoriesMb ?? [FULL_SYNC_MEMORY_MB]) {
      await db.send(
        new PutCommand({
          TableName: dynamo.tableName,
          Item: {
            pk: "fullsync#run",
            sk: "-",
            runId,
            startedAt: new Date().toISOString(),
            phase: "finishing",
            sourceIndex: 0,
            sources: { okta: { listed: people * (copies + 1), changed: 0, complete: true, emailChanges: 0 } },
            reconciles: 0,
            invocations: 0,
            etag: 1,
          },
        }),
      );
      const end = await invoke({ BENCH_RUN_ID: runId }, memoryMb / 2);
      finishes.push({
        name: `the run's end at ${people * (copies + 1)} people, ${memoryMb} MB`,
        invocations: [
          { ms: end.ms, maxRssMb: end.maxRssKb / 1024, done: end.result.done, failed: end.failed },
        ],
        tallyfyRequests: 0,
        oktaRequests: 0,
        dynamoRequestsPerPerson: Number.NaN,
        report: { address: end.result.report, memoryMb },
      });
    }
    return {
      people,
      groups,
      finishPeople: people * (copies + 1),
      idleMaxRssMb: idle.maxRssKb / 1024,
      memoryMb: FULL_SYNC_MEMORY_MB,
      heapMb: HEAP_MB,
      runs: [first, steady],
      finishes,
    };
  } finally {
    await Promise.allSettled([okta.stop(), tallyfy.stop(), secrets.stop(), sqs.stop(), dynamo.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
