/**
 * docs/deploy.md "Upgrading" promises that no release replaces the secrets or the endpoints, so a
 * deploy keeps every credential. Each case is a release CloudFormation would deploy by overwriting
 * or regenerating a credential, or by moving an endpoint an identity provider has registered: the
 * upgrade check must refuse each (found by the attack on issue 29: it checked secrets by name only,
 * and neither stages nor API keys).
 */
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";
import { statefulResources, upgradeProblems } from "./last-release.js";

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
let built: { Resources: Resources } & Record<string, unknown>;

beforeAll(() => {
  built = synthFullFeatured().toJSON() as typeof built;
});

/** The problems the upgrade check reports for the current build changed by `change`. */
function problemsAfter(change: (resources: Resources) => void): string[] {
  const release = statefulResources(Template.fromJSON(built));
  const next = structuredClone(built);
  change(next.Resources);
  return upgradeProblems(release, statefulResources(Template.fromJSON(next)));
}

function idOf(resources: Resources, type: string, prefix: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(", ")}`);
  return ids[0] as string;
}

describe("an upgrade from the last release", () => {
  it("is refused when a release changes the Tallyfy secret's SecretString (CloudFormation would overwrite the credential the operator put there)", () => {
    // Prepare: the secret is created with the placeholder "{}" and the operator then puts the real
    // credential in it; a release changing the placeholder makes CloudFormation write the new one.
    const change = (resources: Resources) => {
      const secret = resources[idOf(resources, "AWS::SecretsManager::Secret", "SyncTallyfySecret")];
      (secret?.Properties as Record<string, unknown>).SecretString = '{"accessToken":""}';
    };

    // Act
    const problems = problemsAfter(change);

    // Assess
    expect(problems).not.toEqual([]);
  });

  it("is refused when the SCIM token's GenerateSecretString changes (CloudFormation generates a new token the identity provider does not have)", () => {
    // Prepare
    const change = (resources: Resources) => {
      const secret = resources[idOf(resources, "AWS::SecretsManager::Secret", "SyncScimTokenSecret")];
      (secret?.Properties as Record<string, unknown>).GenerateSecretString = {
        ExcludePunctuation: true,
        PasswordLength: 48,
      };
    };

    // Act
    const problems = problemsAfter(change);

    // Assess
    expect(problems).not.toEqual([]);
  });

  it("is refused when the Okta event hook's API key gets a new logical id (a new key value: every Okta delivery is refused with 403)", () => {
    // Prepare
    const change = (resources: Resources) => {
      const id = idOf(resources, "AWS::ApiGateway::ApiKey", "SyncOktaEventHookApi");
      resources.SyncOktaEventHookApiOktaKeyRenamed = resources[id] as Resources[string];
      delete resources[id];
    };

    // Act
    const problems = problemsAfter(change);

    // Assess
    expect(problems).not.toEqual([]);
  });

  it("is refused when the SCIM endpoint's stage is renamed (its URL, registered in the identity provider, changes)", () => {
    // Prepare: a stage cannot be renamed in place; CloudFormation makes a new one at a new path.
    const change = (resources: Resources) => {
      const id = idOf(resources, "AWS::ApiGateway::Stage", "SyncScimApiDeploymentStage");
      const stage = resources[id] as Resources[string];
      (stage.Properties as Record<string, unknown>).StageName = "scim-v2";
      resources.SyncScimApiDeploymentStagescimv2 = stage;
      delete resources[id];
    };

    // Act
    const problems = problemsAfter(change);

    // Assess
    expect(problems).not.toEqual([]);
  });

  it("is refused when the event bus gets an EventSourceName (a replacement-causing property of AWS::Events::EventBus)", () => {
    // Prepare
    const change = (resources: Resources) => {
      const bus = resources[idOf(resources, "AWS::Events::EventBus", "SyncIdentityEvents")];
      (bus?.Properties as Record<string, unknown>).EventSourceName = "aws.partner/hr.example/acme/events";
    };

    // Act
    const problems = problemsAfter(change);

    // Assess
    expect(problems).not.toEqual([]);
  });
});
