/** Every item under one partition key, read consistently page by page. */
import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";

export async function* itemsUnder(
  db: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  options: { readonly projection?: string; readonly pageSize?: number } = {},
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ProjectionExpression: options.projection,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        Limit: options.pageSize,
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}
