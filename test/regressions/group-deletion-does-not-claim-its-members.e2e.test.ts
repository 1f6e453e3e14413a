/**
 * A source deleting a group takes its members out of it, but that inference does not make the
 * source one that names them: a SCIM-only person in a SCIM group of the same name stays the SCIM
 * client's to change, their deactivation included.
 *
 * The deleting source here is a minimal plugin (the IdentitySource contract) whose translation is
 * exactly what Entra's and Identity Center's adapters return for a deleted group.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import type { AnyIdentitySource } from "../../handlers/core/source.js";
import { SOURCES } from "../../handlers/sources/index.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { entraUser, patchOp, SCIM_TOKEN, scimClient } from "../support/scim.js";

/** A directory source that reports group deletions as Entra does. */
const groupDeletingSource: AnyIdentitySource = {
  id: "dir-feed",
  recognise: (body) => typeof (body as { deletedGroup?: unknown } | null)?.deletedGroup === "string",
  async translate(body) {
    const { deletedGroup, id, time } = body as { deletedGroup: string; id: string; time: string };
    return {
      status: "groups-deleted",
      names: [deletedGroup],
      id,
      time,
      about: { kind: "dir.group.deleted", eventId: id },
    };
  },
};

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

describe("a SCIM client's own person, after another source deleted a group of the same name", () => {
  it("is still deactivated when the SCIM client deactivates them", async () => {
    // Prepare: Sol exists only through SCIM, in the SCIM group "Staff".
    pipeline = await startPipeline({
      config: DEFAULT_TEST_CONFIG,
      sources: [groupDeletingSource, ...SOURCES],
      scim: { tokens: [SCIM_TOKEN] },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const sol = await scim.call("POST", "/Users", entraUser("sol.ng@example.com"));
    await scim.call("POST", "/Groups", { displayName: "Staff", members: [{ value: sol.body.id }] });
    await pipeline.drain();
    // The other directory deletes its own group "Staff" (Sol was never in it).
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.ingest.url,
        MessageBody: JSON.stringify({ deletedGroup: "Staff", id: "dir-1", time: new Date().toISOString() }),
        MessageAttributes: { source: { DataType: "String", StringValue: "dir-feed" } },
      }),
    );
    await pipeline.drain();
    expect(pipeline.tallyfy.memberByEmail("sol.ng@example.com")?.status).not.toBe("disabled");

    // Act: the SCIM client, which alone provides Sol, deactivates them.
    const disabled = await scim.call(
      "PATCH",
      `/Users/${sol.body.id}`,
      patchOp({ op: "replace", path: "active", value: false }),
    );
    await pipeline.drain();

    // Assess
    expect(disabled.status).toBe(200);
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => l.errorType)).not.toContain("ForeignPersonError");
    expect(pipeline.tallyfy.memberByEmail("sol.ng@example.com")?.status).toBe("disabled");
  });
});
