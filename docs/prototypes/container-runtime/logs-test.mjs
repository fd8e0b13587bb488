// crun run -d with the server holding the container's stdout/stderr pipes
import { spawn } from "node:child_process";
const p = spawn(new URL("./crunw", import.meta.url).pathname, ["run", "-d", "--bundle", process.argv[2], "c4"], { stdio: ["ignore", "pipe", "pipe"] });
p.on("exit", (code) => console.log(`[crun run -d exited ${code}]`));
p.stdout.on("data", (d) => process.stdout.write(`stdout: ${d}`));
p.stderr.on("data", (d) => process.stdout.write(`stderr: ${d}`));
p.stdout.on("end", () => console.log("[stdout closed = container exited]"));
