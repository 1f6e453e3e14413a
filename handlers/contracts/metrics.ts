/** The names metrics are emitted under: the code emits them, and lib/ graphs and alarms on them. */

export const SERVICE_NAME = "tallyfy-idp-sync";
export const METRICS_NAMESPACE = "TallyfyIdpSync";

/** The metric names the dashboard and alarms use. */
export const MetricName = {
  EventsReceived: "EventsReceived",
  /** A reconcile that changed Tallyfy; dimension `kind` (person or group). */
  Reconciled: "Reconciled",
  NoOps: "NoOps",
  Ignored: "Ignored",
  DeadLettered: "DeadLettered",
  Retried: "Retried",
  TallyfyWrites: "TallyfyWrites",
  TallyfyThrottled: "TallyfyThrottled",
  /** Tallyfy answered a guest profile PUT but kept the old values. */
  GuestProfileNotApplied: "GuestProfileNotApplied",
  /** A departure the brake held for an administrator (once per hold). */
  DeparturesHeld: "DeparturesHeld",
  /** A source's identity provider answered 429; dimension `source`. */
  SourceThrottled: "SourceThrottled",
  /** A webhook request refused (a secret that does not match, a body not the provider's); dimension `source`. */
  WebhookRejected: "WebhookRejected",
  /** A webhook request accepted (the provider's own); dimension `source`. */
  WebhookAccepted: "WebhookAccepted",
  /** A provider subscription or channel that could not be created or renewed; dimension `source`. */
  SubscriptionUpkeepFailed: "SubscriptionUpkeepFailed",
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];
