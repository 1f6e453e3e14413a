/**
 * Runs the naive baseline beside ours, in a child process started at the lowest CPU priority
 * (`nice -n 19`, inherited by every thread of the child).
 *
 * The baseline is bound by the machine, not by Tallyfy's limit (its member lists are large), so
 * run in turn it took about a fifth of `npm run bench`. Ours is paced and leaves the second core
 * mostly idle; at nice 19 the baseline gets only what ours does not use, so ours' wall time is
 * measured as before. The baseline's own wall time was never a figure (see the README).
 *
 * The child is this file itself: it regenerates the workload from the seed (the workload is
 * deterministic) and answers with its result over the IPC channel.
 */
import "./quiet.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ReplayOptions, type ReplayResult, replayNaive } from "./replay.js";
import { generateWorkload } from "./workload.js";

interface Request {
  readonly seed: number;
  readonly options: ReplayOptions;
}

/** Starts the baseline on the workload of `seed` now; the promise settles when it is done. */
export function replayNaiveBeside(seed: number, options: ReplayOptions): Promise<ReplayResult> {
  const child = spawn(
    "nice",
    ["-n", "19", process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  return new Promise((resolve, reject) => {
    let result: ReplayResult | undefined;
    child.on("message", (message) => {
      result = message as ReplayResult;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      result ? resolve(result) : reject(new Error(`the naive baseline's process exited with ${code}`)),
    );
    child.send({ seed, options } satisfies Request);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  // The channel closes when the bench ends, however it ends (a failure, a signal): so does this.
  process.once("disconnect", () => process.exit(1));
  process.once("message", async ({ seed, options }: Request) => {
    const result = await replayNaive(generateWorkload({ seed }), options);
    process.send?.(result, () => process.exit(0));
  });
}
