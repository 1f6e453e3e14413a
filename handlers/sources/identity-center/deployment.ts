/** What the stack builds for IAM Identity Center (README "AWS IAM Identity Center"): plain data, read by lib/. */
import type { SourceDeployment } from "../../core/source.js";
import { CLOUDTRAIL_DETAIL_TYPE, IDENTITY_CENTER_EVENT_NAMES, IDENTITY_CENTER_SOURCES } from "./events.js";

export const identityCenterDeployment: SourceDeployment = {
  // CloudTrail delivers AWS services' events to the default bus only. No one can put an event with
  // an `aws.` source there, and every event is read back from the Identity Store anyway.
  eventBridge: {
    name: "CloudTrail",
    busName: "default",
    pattern: {
      source: [...IDENTITY_CENTER_SOURCES],
      "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
      detail: {
        eventSource: ["identitystore.amazonaws.com", "sso-directory.amazonaws.com"],
        eventName: [...IDENTITY_CENTER_EVENT_NAMES],
        errorCode: [{ exists: false }],
      },
    },
  },
  // The ingest function's own role reads the one identity store; no secret.
  awsApi: {
    actions: [
      "identitystore:DescribeUser",
      "identitystore:ListGroupMembershipsForMember",
      "identitystore:DescribeGroup",
    ],
    resources: [
      "arn:{partition}:identitystore::{account}:identitystore/{config.identityStoreId}",
      "arn:{partition}:identitystore:::user/*",
      "arn:{partition}:identitystore:::group/*",
      "arn:{partition}:identitystore:::membership/*",
    ],
    wildcardReason:
      "Identity Store user, group and membership ARNs carry no account or store, and their ids are not known at deployment; every action also needs the identity store resource, which the same statement limits to the one store",
  },
};
