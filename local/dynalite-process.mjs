// dynalite in a process of its own (the bench's: in AWS, DynamoDB's work is not the function's).
// Tells its parent the port it listens on, answers "operations" with the count of each request
// it served, and ends with its parent. Its one argument: how long a new table stays CREATING.
import dynalite from "dynalite";

const server = dynalite({ createTableMs: Number(process.argv[2] ?? 0), deleteTableMs: 0, updateTableMs: 0 });
const operations = {};
server.on("request", (req) => {
  const target =
    String(req.headers["x-amz-target"] ?? "")
      .split(".")
      .pop() || "unknown";
  operations[target] = (operations[target] ?? 0) + 1;
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
process.on("message", (message) => {
  if (message === "operations") process.send?.({ operations });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
