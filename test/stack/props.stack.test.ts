/**
 * Props and their validation (lib/props.ts, lib/app-config.ts): every problem reported at once.
 */
import { App, Duration, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { AppConfigError } from "../../lib/app-config.js";
import { TallyfyIdpSync, TallyfyIdpSyncPropsError } from "../../lib/tallyfy-idp-sync.js";
import { context, synth } from "./synth.js";

describe("configuration errors", () => {
  it.each([
    [
      { ...context, sync: { ...context.sync, roles: { owner: ["X"] } } },
      "tallyfyIdpSync.sync.roles: unknown key(s) owner",
    ],
    [{ ...context, tallyfy: {} }, "tallyfyIdpSync.tallyfy.organizationId:"],
    [
      { ...context, tallyfy: { organizationId: "o", apiUrl: "https://me:pw@go.tallyfy.com/api" } },
      "tallyfyIdpSync.tallyfy.apiUrl: must not contain a user name or password",
    ],
    [
      { ...context, sync: { ...context.sync, memberDomains: ["example com"] } },
      "tallyfyIdpSync.sync.memberDomains.0: must be a domain name",
    ],
    [{ ...context, maxReceiveCount: 1 }, "tallyfyIdpSync.maxReceiveCount:"],
    [
      { ...context, sync: { ...context.sync, departureBrake: { maxShare: 2 } } },
      "tallyfyIdpSync.sync.departureBrake",
    ],
    [{ ...context, sync: { ...context.sync, defaultRole: "owner" } }, "tallyfyIdpSync.sync.defaultRole:"],
    [
      { ...context, okta: { logStreamEventBusName: "default" } },
      "tallyfyIdpSync.okta.logStreamEventBusName: must be the Okta partner bus",
    ],
    [
      { ...context, sync: { ...context.sync, okta: { attributes: { phone: [], team: 3 } } } },
      "tallyfyIdpSync.sync.okta.attributes.team:",
    ],
    [
      { ...context, scim: { enabled: true, throttlingRateLimit: 0 } },
      "tallyfyIdpSync.scim.throttlingRateLimit: must be over 0",
    ],
    [
      { ...context, scim: { enabled: true, throttlingBurstLimit: 10_000 } },
      "tallyfyIdpSync.scim.throttlingBurstLimit: must be a whole number from 1 to 5000",
    ],
    [{ ...context, scim: { enabled: true, tokenSecretArn: "x" } }, "tallyfyIdpSync.scim: unknown key"],
  ])("fails synth naming the bad key (%#)", (config, expected) => {
    // Act
    const error = (() => {
      try {
        synth(config);
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(AppConfigError);
    expect(error?.message).toContain(expected);
  });

  it("reports every invalid construct prop in one error", () => {
    // Prepare
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Props");

    // Act
    const error = (() => {
      try {
        new TallyfyIdpSync(stack, "Sync", {
          syncConfig: { defaultRole: "owner" as never },
          tallyfyOrganizationId: " ",
          applyTimeout: Duration.hours(1),
          applyMaxConcurrency: 1,
          scim: { enabled: true, throttlingRateLimit: -1, throttlingBurstLimit: 2.5 },
        });
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(TallyfyIdpSyncPropsError);
    for (const key of [
      "syncConfig: defaultRole",
      "tallyfyOrganizationId",
      "applyTimeout",
      "applyMaxConcurrency",
      "scim.throttlingRateLimit: must be over 0",
      "scim.throttlingBurstLimit: must be a whole number from 1 to 5000",
    ])
      expect(error?.message).toContain(key);
  });
});
