/** What the stack builds for Microsoft Entra ID (README "Microsoft Entra ID"): plain data, read by lib/ at synth. */
import type { SourceDeployment } from "../../core/source.js";

export const entraDeployment: SourceDeployment = {
  secret: {
    variable: "ENTRA_SECRET_ID",
    description:
      'Microsoft Graph app registration for tallyfy-idp-sync (User.Read.All, GroupMember.Read.All): {"tenantId", "clientId", "clientSecret"} or {"tenantId", "clientId", "certificate", "privateKey"}',
    rotation:
      "An Entra client secret or certificate is issued in the app registration and cannot be rotated by a Lambda; add the new one in Entra, update the secret, then remove the old one",
  },
  // Graph's per-app limit for directory reads is far higher; each ingest function keeps well under it.
  rateBudget: { variable: "ENTRA_REQUESTS_PER_MINUTE", perMinute: 3_000 },
  webhook: {
    name: "ChangeNotifications",
    path: "notifications",
    stageName: "entra",
    description: "Microsoft Graph change notifications -> tallyfy-idp-sync ingest queue",
    secretDescription:
      "The clientState tallyfy-idp-sync gives Microsoft Graph subscriptions; every notification must echo it. Generated at deployment",
    rejectedText:
      "The Graph notification endpoint refused requests whose clientState did not match: someone is sending forged notifications, or the secret changed under live subscriptions (the subscription function re-creates them): read the webhook function's log",
    // Notifications from any other tenant are refused at the door.
    variables: { ENTRA_TENANT_ID: "tenantId" },
    subscriptions: {
      schedule: "rate(1 hour)",
      failedText:
        "A Microsoft Graph subscription (/users or /groups) could not be created or renewed: changes in Entra ID stop reaching Tallyfy when it expires. Check the app registration's secret and permissions, and the subscription function's log",
    },
  },
};
