/**
 * Each function's IAM statements on the directory table, read from a synthesized stack: what the
 * local DynamoDB's IAM proxy judges each function's requests by (local/fakes/iam-dynamodb.ts).
 */
import type { Template } from "aws-cdk-lib/assertions";
import type {
  DirectoryPolicies,
  DirectoryPrincipal,
  PolicyStatement,
} from "../../local/fakes/iam-dynamodb.js";

/** Each principal, by the logical id fragment of its function. */
const FUNCTIONS: Readonly<Record<DirectoryPrincipal, string>> = {
  ingest: "IngestFunction",
  apply: "ApplyFunction",
  departures: "DeparturesFunction",
  fullSync: "FullSyncFunction",
  scim: "ScimFunction",
  upkeep: "SubscriptionUpkeepFunction",
};

interface Resource {
  readonly Type: string;
  readonly Properties: {
    readonly Role?: { readonly "Fn::GetAtt": readonly string[] };
    readonly Roles?: readonly { readonly Ref: string }[];
    readonly Policies?: readonly { readonly PolicyDocument: Document }[];
    readonly PolicyDocument?: Document;
  };
}

interface Document {
  readonly Statement: readonly (PolicyStatement & { readonly Resource?: unknown })[];
}

export class MissingFunctionError extends Error {
  public override readonly name = "MissingFunctionError";
}

/** Every statement of the role of the function whose logical id contains `fragment`. */
export function roleStatements(template: Template, fragment: string): Document["Statement"] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const fn = Object.entries(resources).find(
    ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes(fragment),
  )?.[1];
  const role = fn?.Properties.Role?.["Fn::GetAtt"][0];
  if (!role) throw new MissingFunctionError(`the template has no function ${fragment}`);
  return [
    ...(resources[role]?.Properties.Policies ?? []).map((p) => p.PolicyDocument),
    ...Object.values(resources)
      .filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles?.some((x) => x.Ref === role))
      .flatMap((r) => (r.Properties.PolicyDocument ? [r.Properties.PolicyDocument] : [])),
  ].flatMap((d) => d.Statement);
}

export function directoryPolicies(template: Template): DirectoryPolicies {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const tables = Object.keys(resources).filter((id) => resources[id]?.Type === "AWS::DynamoDB::Table");
  const onTable = (resource: unknown) =>
    tables.some((table) => JSON.stringify(resource).includes(`"${table}"`));
  const statementsOf = (fragment: string) =>
    roleStatements(template, fragment)
      .filter((s) => onTable(s.Resource))
      .map(({ Effect, Action, Condition }) => ({ Effect, Action, ...(Condition ? { Condition } : {}) }));
  return Object.fromEntries(
    Object.entries(FUNCTIONS).map(([principal, fragment]) => [principal, statementsOf(fragment)]),
  );
}
