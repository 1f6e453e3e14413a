/** What the stack builds for Google Workspace (README "Google Workspace"): plain data, read by lib/ at synth. */
import type { SourceDeployment } from "../../core/source.js";

export const googleDeployment: SourceDeployment = {
  secret: {
    variable: "GOOGLE_SECRET_ID",
    description:
      'Google Workspace service account for tallyfy-idp-sync (domain-wide delegation, admin.directory.user.readonly and admin.directory.group.readonly): its JSON key {"client_email", "private_key", ...} with "subject": "<an admin\'s email>" added',
    rotation:
      "A service account key is issued in Google Cloud and cannot be rotated by a Lambda; create a new key, update the secret, then delete the old key",
  },
  // The Directory API's default quota is 2,400 queries a minute per user; each ingest function keeps well under it.
  rateBudget: { variable: "GOOGLE_REQUESTS_PER_MINUTE", perMinute: 1_500 },
  webhook: {
    name: "DirectoryPush",
    path: "push",
    stageName: "google",
    description: "Google Admin SDK Directory API push -> tallyfy-idp-sync ingest queue",
    secretDescription:
      "The channel token tallyfy-idp-sync gives Google users.watch channels; every push must echo it in X-Goog-Channel-Token. Generated at deployment",
    rejectedText:
      "The Google push endpoint refused requests whose X-Goog-Channel-Token did not match: someone is sending forged pushes, or the secret changed under live channels (they are re-created within hours): read the webhook function's log",
    subscriptions: {
      schedule: "rate(30 minutes)",
      failedText:
        "A Google users.watch channel could not be re-created: changes in Google Workspace stop reaching Tallyfy when it expires. Check the service account's key, delegation and scopes, and the subscription function's log",
    },
  },
};
