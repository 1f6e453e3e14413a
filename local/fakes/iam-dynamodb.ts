/**
 * DynamoDB behind IAM, on 127.0.0.1: dynalite's server judges each request by the policy of the
 * principal that signed it before serving it, as IAM judges a function's role, and answers
 * `AccessDeniedException` (400) for what the policy does not allow.
 *
 * - The principal is the access key id in the request's SigV4 `Authorization` header
 *   (`LocalDynamo.clientAs(principal)` signs with it); a principal with no policy here is not
 *   judged (the test's own reads and the table's creation).
 * - A statement allows a request when one of its actions matches `dynamodb:<operation>` (`*`
 *   wildcards as IAM's) and its conditions hold; a `Deny` that matches wins.
 * - Conditions: `ForAllValues:StringLike` and `ForAllValues:StringEquals` on
 *   `dynamodb:LeadingKeys`, the partition keys a request names (a Scan names none, and
 *   `ForAllValues` of nothing holds, as in IAM); `StringEquals` and `StringLike` on
 *   `dynamodb:Select` (absent from a request that says no `Select`, and then matching nothing).
 *   Any other condition is refused as unsupported, so a policy this cannot judge never passes
 *   by accident.
 * - The statements are only those on the directory table: the caller picks them.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";

export interface PolicyStatement {
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** The functions that reach the directory, by the principal their requests are signed as. */
export type DirectoryPrincipal = "ingest" | "apply" | "departures" | "fullSync" | "scim" | "upkeep";

/** Each principal's statements on the directory table. */
export type DirectoryPolicies = Readonly<Partial<Record<DirectoryPrincipal, readonly PolicyStatement[]>>>;

/** The policies a JSON file holds, or undefined without a file. */
export function policiesFromFile(file: string | undefined): DirectoryPolicies | undefined {
  return file ? (JSON.parse(readFileSync(file, "utf8")) as DirectoryPolicies) : undefined;
}

/** A request IAM refused: who, what, and on which partition keys. */
export interface Denial {
  readonly principal: string;
  readonly action: string;
  readonly leadingKeys: readonly string[];
}

/** A condition this proxy cannot evaluate: the policy, not the request, is what is wrong. */
export class UnsupportedConditionError extends Error {
  public override readonly name = "UnsupportedConditionError";
}

type Item = Readonly<Record<string, { readonly S?: string } | undefined>>;

interface DynamoRequest {
  readonly Select?: string;
  readonly Key?: Item;
  readonly Item?: Item;
  readonly KeyConditionExpression?: string;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues?: Item;
  readonly RequestItems?: Readonly<
    Record<
      string,
      | { readonly Keys?: readonly Item[] }
      | readonly { readonly PutRequest?: { Item: Item }; readonly DeleteRequest?: { Key: Item } }[]
    >
  >;
}

/** The partition keys a request names, as `dynamodb:LeadingKeys` holds them. */
export function leadingKeysOf(body: DynamoRequest, partitionKey = "pk"): string[] {
  const keys: (string | undefined)[] = [body.Key?.[partitionKey]?.S, body.Item?.[partitionKey]?.S];
  if (body.KeyConditionExpression) {
    for (const [, name = "", value = ""] of body.KeyConditionExpression.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
      const attribute = name.startsWith("#") ? body.ExpressionAttributeNames?.[name] : name;
      if (attribute === partitionKey) keys.push(body.ExpressionAttributeValues?.[value]?.S);
    }
  }
  for (const requests of Object.values(body.RequestItems ?? {})) {
    if (Array.isArray(requests)) {
      for (const r of requests) {
        keys.push(r.PutRequest?.Item[partitionKey]?.S, r.DeleteRequest?.Key[partitionKey]?.S);
      }
    } else {
      for (const key of (requests as { Keys?: readonly Item[] }).Keys ?? []) keys.push(key[partitionKey]?.S);
    }
  }
  return [...new Set(keys.filter((k): k is string => k !== undefined))];
}

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );

/** What a request's conditions are judged on: the partition keys it names, and what it selects. */
export interface RequestContext {
  readonly leadingKeys: readonly string[];
  /** `Select` of a Query or Scan (`COUNT`, ...), when it says one. */
  readonly select?: string;
}

function conditionHolds(condition: PolicyStatement["Condition"], request: RequestContext): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      const patterns = [values].flat();
      const like = operator.endsWith("StringLike");
      const matches = (value: string) => patterns.some((p) => (like ? wildcard(p).test(value) : p === value));
      if (!/^(ForAllValues:)?String(Like|Equals)$/.test(operator)) {
        throw new UnsupportedConditionError(`condition operator ${operator}`);
      }
      if (key === "dynamodb:LeadingKeys" && operator.startsWith("ForAllValues:")) {
        if (!request.leadingKeys.every(matches)) return false;
      } else if (key === "dynamodb:Select" && !operator.startsWith("ForAllValues:")) {
        // A single-valued key absent from the request matches nothing.
        if (request.select === undefined || !matches(request.select)) return false;
      } else {
        throw new UnsupportedConditionError(`condition ${operator} on ${key}`);
      }
    }
  }
  return true;
}

/** Whether `statements` allow `action` on items with these partition keys, as IAM decides. */
export function allows(
  statements: readonly PolicyStatement[],
  action: string,
  leadingKeys: readonly string[],
  request: Omit<RequestContext, "leadingKeys"> = {},
): boolean {
  const context = { ...request, leadingKeys };
  const applies = (s: PolicyStatement) =>
    [s.Action].flat().some((a) => wildcard(a).test(action)) && conditionHolds(s.Condition, context);
  if (statements.some((s) => s.Effect === "Deny" && applies(s))) return false;
  return statements.some((s) => s.Effect === "Allow" && applies(s));
}

const principalOf = (req: IncomingMessage) =>
  /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1] ?? "";

/**
 * Puts IAM in front of `server` (dynalite's): every request is judged before the server's own
 * handler reads it, in the same process and on the same connection, so it costs one JSON parse.
 * Returns the requests refused, in order.
 */
export function guardWithIam(
  server: Server,
  policies: DirectoryPolicies,
): { readonly denials: readonly Denial[] } {
  const denials: Denial[] = [];
  const handlers = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on("request", async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const principal = principalOf(req);
    // The principal comes from the request: never an inherited key of the policies object.
    const statements = Object.hasOwn(policies, principal)
      ? policies[principal as DirectoryPrincipal]
      : undefined;
    if (statements) {
      const action = `dynamodb:${String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop()}`;
      const parsed = JSON.parse(body.toString("utf8") || "{}") as DynamoRequest;
      const leadingKeys = leadingKeysOf(parsed);
      if (!allows(statements, action, leadingKeys, { select: parsed.Select })) {
        denials.push({ principal, action, leadingKeys });
        res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
        res.end(
          JSON.stringify({
            __type: "com.amazon.coral.service#AccessDeniedException",
            Message: `User: arn:aws:sts::000000000000:assumed-role/${principal}/local is not authorized to perform: ${action} on resource: the directory table because no identity-based policy allows the ${action} action`,
          }),
        );
        return;
      }
    }
    // The request again, as the server's handler reads one: its headers, then its body.
    const replay = Object.assign(new PassThrough(), {
      headers: req.headers,
      method: req.method,
      url: req.url,
    });
    for (const handler of handlers) handler(replay as unknown as IncomingMessage, res);
    replay.end(body);
  });
  return { denials };
}
