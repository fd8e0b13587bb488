// Stand-in for the server's container credentials endpoint, listening on the bridge address.
import { createServer } from "node:http";
createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      path: req.url,
      from: req.socket.remoteAddress,
      auth: req.headers.authorization ?? null,
      AccessKeyId: "ASIAPROTO",
      SecretAccessKey: "x",
      Token: "t",
      Expiration: "2026-12-06T18:00:00Z",
    }),
  );
}).listen(18080, "10.89.0.1", () => console.log("listening 10.89.0.1:18080"));
