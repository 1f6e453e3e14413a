/**
 * DynamoDB on this machine: dynalite, a real DynamoDB protocol server, in memory on loopback.
 * The directory's table is created as the stack creates it (string keys `pk` and `sk`).
 */
import { fork } from "node:child_process";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { type Denial, type DirectoryPolicies, guardWithIam } from "./fakes/iam-dynamodb.js";

export const LOCAL_TABLE_NAME = "tallyfy-idp-sync-directory";

export interface LocalDynamo {
  readonly endpoint: string;
  /** A client whose requests are never judged: the test's own, as the account's admin. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * A client signing as `principal`: with `policies`, judged by that principal's statements, as
   * a function's requests are judged by its role.
   */
  clientAs(principal: string): DynamoDBClient;
  /** The requests `policies` refused, in order. */
  readonly denials: readonly Denial[];
  /** Requests dynalite answered, by operation (`GetItem`, `PutItem`, ...). */
  operations(): Promise<Map<string, number>>;
  /** The table's items and their size, counted as DynamoDB counts it (names plus values), roughly. */
  size(): Promise<{ items: number; bytes: number }>;
  stop(): Promise<void>;
}

export interface LocalDynamoOptions {
  /**
   * Where dynalite runs: in this process, or in one of its own, so its work is not charged to
   * the pipeline's one thread (the bench: in AWS, DynamoDB's work is not the function's).
   * @default "this"
   */
  readonly process?: "this" | "own";
  /**
   * How long the table stays CREATING, as a table in AWS does for seconds. Whatever it is, the
   * table is ACTIVE when `startLocalDynamo` returns.
   * @default 0
   */
  readonly createTableMs?: number;
  /**
   * Each principal's statements on the table: with them, dynalite judges every request as IAM
   * would (fakes/iam-dynamodb.ts) and refuses what the signer's policy does not allow. With
   * `process: "this"` only.
   * @default every request allowed
   */
  readonly policies?: DirectoryPolicies;
}

/** dynalite on loopback: its port, its operation counts, and how to stop it. */
interface Server {
  readonly port: number;
  /** The requests IAM refused (in this process only). */
  readonly denials: readonly Denial[];
  operations(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

async function serveHere(createTableMs: number, policies: DirectoryPolicies | undefined): Promise<Server> {
  const server = dynalite({ createTableMs, deleteTableMs: 0, updateTableMs: 0 });
  const { denials } = policies ? guardWithIam(server, policies) : { denials: [] };
  const operations = new Map<string, number>();
  server.on("request", (req) => {
    const target =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "unknown";
    operations.set(target, (operations.get(target) ?? 0) + 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    denials,
    operations: async () => operations,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function serveApart(createTableMs: number): Promise<Server> {
  const child = fork(
    fileURLToPath(new URL("./dynalite-process.mjs", import.meta.url)),
    [String(createTableMs)],
    {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off("message", onMessage);
        resolve(message[key] as T);
      };
      child.on("message", onMessage);
      child.once("exit", (code) => reject(new Error(`dynalite's process ended (${code})`)));
    });
  const port = await next<number>("port");
  return {
    port,
    denials: [],
    operations: async () => {
      const counts = next<Record<string, number>>("operations");
      child.send("operations");
      return new Map(Object.entries(await counts));
    },
    stop: async () => {
      const ended = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await ended;
    },
  };
}

/**
 * dynalite answers CreateTable while the table is still CREATING and makes it ACTIVE on a timer,
 * as AWS does; a request that wins that race is refused as ResourceNotFoundException.
 */
async function untilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    await sleep(5);
  }
}

export class UnsupportedOptionsError extends Error {
  public override readonly name = "UnsupportedOptionsError";
}

export async function startLocalDynamo(
  tableName = LOCAL_TABLE_NAME,
  options: LocalDynamoOptions = {},
): Promise<LocalDynamo> {
  const createTableMs = options.createTableMs ?? 0;
  if (options.process === "own" && options.policies) {
    throw new UnsupportedOptionsError("IAM judges requests only when dynalite runs in this process");
  }
  const server =
    options.process === "own"
      ? await serveApart(createTableMs)
      : await serveHere(createTableMs, options.policies);
  const endpoint = `http://127.0.0.1:${server.port}`;
  // dynalite checks that requests are signed, not by whom; IAM in front of it reads who.
  const clientAs = (principal: string) =>
    new DynamoDBClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: principal, secretAccessKey: "local" },
    });
  const client = clientAs("local");
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await untilActive(client, tableName);
  return {
    endpoint,
    client,
    tableName,
    clientAs,
    denials: server.denials,
    operations: () => server.operations(),
    async size() {
      let items = 0;
      let bytes = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({ TableName: tableName, ExclusiveStartKey: start as never }),
        );
        for (const item of page.Items ?? []) {
          items++;
          bytes += Buffer.byteLength(JSON.stringify(item));
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return { items, bytes };
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
