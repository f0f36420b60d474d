/** Connect JSON over plain HTTP/1.1 (what `curl` sends), with node:http. */
import http from "node:http";

export interface JsonReply {
  readonly status: number;
  readonly httpVersion: string;
  readonly body: Record<string, unknown>;
}

export function postJson(
  port: number,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({
              status: res.statusCode ?? 0,
              httpVersion: res.httpVersion,
              body: JSON.parse(text || "{}") as Record<string, unknown>,
            });
          } catch (err) {
            reject(new Error(`not JSON (${String(res.statusCode)}): ${text}`, { cause: err }));
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
