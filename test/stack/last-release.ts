/**
 * What an upgrade must never replace: the resources that hold data or that the outside world
 * knows by name (the directory, the queues and their messages, the secrets, the report bucket,
 * the event bus and the alarm topic producers and subscribers use, the endpoints and keys
 * registered with identity providers), with the properties whose change makes CloudFormation
 * replace them or overwrite a credential.
 * `test/stack/last-release.json` keeps them as the last release synthesized them;
 * `npm run pin-release` rewrites it when a release is cut (see CHANGELOG.md).
 */
import type { Template } from "aws-cdk-lib/assertions";

/**
 * By type: the properties a change of which replaces the resource (CloudFormation's "Update
 * requires: Replacement"), or overwrites what an operator or identity provider holds of it.
 */
export const REPLACED_BY: Readonly<Record<string, readonly string[]>> = {
  "AWS::DynamoDB::Table": ["TableName", "KeySchema", "LocalSecondaryIndexes"],
  "AWS::SQS::Queue": ["QueueName", "FifoQueue"],
  "AWS::SecretsManager::Secret": ["Name", "SecretString", "GenerateSecretString"],
  "AWS::S3::Bucket": ["BucketName"],
  "AWS::Events::EventBus": ["Name", "EventSourceName"],
  "AWS::SNS::Topic": ["TopicName", "FifoTopic"],
  // The endpoints identity providers have registered: the API, its stage (in the URL) and its key.
  "AWS::ApiGateway::RestApi": [],
  "AWS::ApiGateway::Stage": ["StageName", "RestApiId"],
  "AWS::ApiGateway::ApiKey": ["Name", "Value", "GenerateDistinctId"],
};

/**
 * A secret's value as the stack first set it: the operator has replaced it with the credential
 * (or the identity provider holds the generated one), and a change would write over that.
 */
const OVERWRITTEN_BY = new Set(["SecretString", "GenerateSecretString"]);

export interface StatefulResource {
  readonly type: string;
  /** The replacement-causing properties, as synthesized (absent ones left out). */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
}

/** The template's stateful resources by logical id. */
export function statefulResources(template: Template): Record<string, StatefulResource> {
  const resources = template.toJSON().Resources as Record<
    string,
    {
      Type: string;
      Properties?: Record<string, unknown>;
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    }
  >;
  const stateful: Record<string, StatefulResource> = {};
  for (const [id, resource] of Object.entries(resources).sort(([a], [b]) => a.localeCompare(b))) {
    const replacedBy = REPLACED_BY[resource.Type];
    if (!replacedBy) continue;
    const properties = Object.fromEntries(
      replacedBy.flatMap((name) =>
        resource.Properties?.[name] === undefined ? [] : [[name, resource.Properties[name]]],
      ),
    );
    stateful[id] = {
      type: resource.Type,
      properties,
      ...(resource.DeletionPolicy ? { deletionPolicy: resource.DeletionPolicy } : {}),
      ...(resource.UpdateReplacePolicy ? { updateReplacePolicy: resource.UpdateReplacePolicy } : {}),
    };
  }
  return stateful;
}

/** What deploying `current` over a stack of the last release would replace or delete, one line each. */
export function upgradeProblems(
  release: Readonly<Record<string, StatefulResource>>,
  current: Readonly<Record<string, StatefulResource>>,
): string[] {
  const problems: string[] = [];
  for (const [id, before] of Object.entries(release)) {
    const after = current[id];
    if (!after) {
      problems.push(`${id} (${before.type}) is gone: an upgrade would delete it`);
      continue;
    }
    if (after.type !== before.type) {
      problems.push(`${id} changed type from ${before.type} to ${after.type}: an upgrade would replace it`);
      continue;
    }
    for (const name of REPLACED_BY[before.type] ?? []) {
      const was = JSON.stringify(before.properties[name]);
      const is = JSON.stringify(after.properties[name]);
      if (was === is) continue;
      const what = OVERWRITTEN_BY.has(name) ? "overwrite the value it holds" : "replace it";
      problems.push(`${id} ${name} changed from ${was} to ${is}: an upgrade would ${what}`);
    }
    for (const policy of ["deletionPolicy", "updateReplacePolicy"] as const) {
      if (before[policy] === "Retain" && after[policy] !== "Retain") {
        problems.push(`${id} ${policy} is no longer Retain: its data would go with the stack`);
      }
    }
  }
  return problems;
}
