/**
 * DynamoDB on this machine: dynalite, a real DynamoDB protocol server, in memory on loopback.
 * The directory's table is created as the stack creates it (string keys `pk` and `sk`).
 */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";

export const LOCAL_TABLE_NAME = "tallyfy-idp-sync-directory";

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Requests dynalite answered, by operation (`GetItem`, `PutItem`, ...). */
  readonly operations: Map<string, number>;
  /** The table's items and their size, counted as DynamoDB counts it (names plus values), roughly. */
  size(): Promise<{ items: number; bytes: number }>;
  stop(): Promise<void>;
}

export async function startLocalDynamo(tableName = LOCAL_TABLE_NAME): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const operations = new Map<string, number>();
  server.on("request", (req) => {
    const target =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "unknown";
    operations.set(target, (operations.get(target) ?? 0) + 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    // dynalite checks that requests are signed, not by whom.
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
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
  return {
    endpoint,
    client,
    tableName,
    operations,
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
