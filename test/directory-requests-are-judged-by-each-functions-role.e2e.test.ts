/**
 * Every pipeline a test starts reaches the directory through IAM on loopback, each function
 * signing as itself and judged by its deployed role's statements (test/global-setup.ts). A role
 * too narrow for what the code does fails a test here, as `cdk deploy`ed code would fail in AWS.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";

let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});

describe("the directory's requests in a test pipeline", () => {
  it("refuse ingest a subscription's state as AWS would, and let it keep a delta link", async () => {
    // Prepare
    pipeline = await startPipeline();
    const state = pipeline.directoryAs("ingest").state("entra");

    // Act
    const subscription = await state.put("subscription:users", { id: "forged" }).then(
      () => "written",
      (error: Error) => error.name,
    );
    await state.put("delta:group-1", "https://graph.microsoft.com/v1.0/delta?token=1");

    // Assess
    expect(subscription).toBe("AccessDeniedException");
    expect(pipeline.dynamo.denials).toEqual([
      { principal: "ingest", action: "dynamodb:PutItem", leadingKeys: ["state#entra#subscription:users"] },
    ]);
    expect(await pipeline.directory.state("entra").get("delta:group-1")).toContain("token=1");
  });

  it("refuse the departures function a source's state, and let the apply function read people", async () => {
    // Prepare
    pipeline = await startPipeline();

    // Act
    const person = await pipeline.directoryAs("apply").person("ana@example.com");
    const sourceState = await pipeline
      .directoryAs("departures")
      .state("scim")
      .get("users")
      .then(
        () => "read",
        (error: Error) => error.name,
      );

    // Assess
    expect(person).toBeUndefined();
    expect(sourceState).toBe("AccessDeniedException");
  });

  it("serve a principal named after an inherited key as one with no policy, not as a broken one", async () => {
    // Prepare
    pipeline = await startPipeline();

    // Act
    const person = await pipeline.directoryAs("constructor" as never).person("ana@example.com");

    // Assess
    expect(person).toBeUndefined();
    expect(pipeline.dynamo.denials).toEqual([]);
  }, 10_000);
});
