/**
 * A source's own small state in the directory's table (a Graph delta link, a subscription's id and
 * expiry, a Google channel): one item `state#<source>#<key>` each, holding a JSON value. Last
 * writer wins: every value kept here may be lost or stale without harm (a delta query starts over,
 * a subscription is checked against the provider on the next run).
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { DIRECTORY_KEYS } from "../contracts/directory-keys.js";
import type { SourceState } from "../core/source.js";

export function sourceState(db: DynamoDBDocumentClient, tableName: string, source: string): SourceState {
  const key = (name: string) => ({ pk: `${DIRECTORY_KEYS.sourceState}${source}#${name}`, sk: "-" });
  return {
    async get(name) {
      const result = await db.send(
        new GetCommand({ TableName: tableName, Key: key(name), ConsistentRead: true }),
      );
      const value = result.Item?.value;
      return typeof value === "string" ? JSON.parse(value) : undefined;
    },
    async put(name, value) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...key(name), value: JSON.stringify(value), updatedAt: new Date().toISOString() },
        }),
      );
    },
    async delete(name) {
      await db.send(new DeleteCommand({ TableName: tableName, Key: key(name) }));
    },
  };
}
