/**
 * The webhook function bundles only the sources' request checks (handlers/sources/webhooks.ts),
 * and the upkeep function only the sources with subscriptions (subscribers.ts), not the registry:
 * they must still know every registered source with a webhook, under its id, and check each
 * request exactly as that source does.
 */
import { describe, expect, it } from "vitest";
import type { WebhookRequest } from "../handlers/core/source.js";
import { webhookDepsFromEnvironment } from "../handlers/runtime/webhook-environment.js";
import { SOURCES } from "../handlers/sources/index.js";
import { SUBSCRIBING_SOURCES } from "../handlers/sources/subscribers.js";
import { WEBHOOK_RECEIVERS } from "../handlers/sources/webhooks.js";

const ENVIRONMENT = {
  WEBHOOK_SECRET_ID: "webhook-secret",
  INGEST_QUEUE_URL: "http://127.0.0.1:9/ingest",
  AWS_REGION: "eu-west-1",
};

describe("the webhook function's receivers", () => {
  it("are the registry's sources with a webhook, each by its id", () => {
    // Act
    const registered = SOURCES.filter((s) => s.receive).map((s) => s.id);

    // Assess
    expect(WEBHOOK_RECEIVERS.map((r) => r.id).sort()).toEqual(registered.sort());
  });

  it("are kept up by the upkeep function, which knows exactly the registry's sources with subscriptions", () => {
    // Act
    const registered = SOURCES.filter((s) => s.maintainSubscriptions);

    // Assess
    expect(SUBSCRIBING_SOURCES).toEqual(registered);
    expect(SUBSCRIBING_SOURCES.map((s) => s.id).sort()).toEqual(WEBHOOK_RECEIVERS.map((r) => r.id).sort());
  });

  it("answer every request as the registered source does: a validation handshake, a forged one, a good one", () => {
    // Prepare
    const request = (fields: Partial<WebhookRequest>): WebhookRequest => ({
      method: "POST",
      headers: {},
      query: {},
      body: "",
      receivedAt: "2026-12-07T10:00:00.000Z",
      ...fields,
    });
    const requests = [
      request({ query: { validationToken: "abc123" } }),
      request({ headers: { "x-goog-channel-token": "wrong", "x-goog-resource-state": "sync" } }),
      request({
        headers: {
          "x-goog-channel-token": "s3cret",
          "x-goog-resource-state": "update",
          "x-goog-channel-id": "c1",
        },
        body: JSON.stringify({ kind: "admin#directory#user", id: "1", primaryEmail: "ana@example.com" }),
      }),
      request({
        body: JSON.stringify({
          value: [
            { clientState: "s3cret", changeType: "updated", resource: "users/1", subscriptionId: "s1" },
          ],
        }),
      }),
      request({ body: JSON.stringify({ value: [{ clientState: "forged", changeType: "updated" }] }) }),
    ];

    // Act
    const differences = WEBHOOK_RECEIVERS.flatMap((receiver) => {
      const registered = SOURCES.find((s) => s.id === receiver.id);
      return requests.flatMap((request, i) => {
        const ours = JSON.stringify(receiver.receive(request, ["s3cret"]));
        const theirs = JSON.stringify(registered?.receive?.(request, ["s3cret"]));
        return ours === theirs ? [] : [`${receiver.id} request ${i}: ${ours} vs ${theirs}`];
      });
    });

    // Assess: the requests reach a handshake, an acceptance and a refusal, not only errors.
    const statuses = WEBHOOK_RECEIVERS.flatMap((r) => requests.map((q) => r.receive(q, ["s3cret"]).status));
    expect(new Set(statuses)).toEqual(new Set([200, 202, 400, 403]));
    expect(differences).toEqual([]);
  });

  it("refuse to start for a source with no webhook, naming it", () => {
    // Act
    const start = () => webhookDepsFromEnvironment({ ...ENVIRONMENT, WEBHOOK_SOURCE: "okta" });

    // Assess
    expect(start).toThrow("WEBHOOK_SOURCE okta is no source with a webhook");
    expect(webhookDepsFromEnvironment({ ...ENVIRONMENT, WEBHOOK_SOURCE: "entra" }).source.id).toBe("entra");
  });
});
