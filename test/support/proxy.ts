/**
 * A TCP proxy in front of the database, so a test can make it vanish mid-request and come back:
 * `hold()` stops forwarding (requests hang), `cut()` drops every connection and refuses new
 * ones, `restore()` forwards again.
 */
import { EventEmitter, once } from "node:events";
import net from "node:net";

export class TcpProxy extends EventEmitter<{ held: [] }> {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private state: "open" | "held" | "cut" = "open";

  private constructor(private readonly target: { host: string; port: number }) {
    super();
    this.server = net.createServer((client) => {
      if (this.state === "cut") {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.on("data", (chunk: Buffer) => {
        if (this.state === "held") {
          this.emit("held");
          return; // swallowed: the request hangs
        }
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        if (this.state === "open") client.write(chunk);
      });
    });
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.server.listen(0, "127.0.0.1");
    await once(proxy.server, "listening");
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stop forwarding; resolves when a request arrives and is held. */
  hold(): Promise<unknown> {
    this.state = "held";
    return once(this, "held");
  }

  /** Drop every connection and refuse new ones. */
  cut(): void {
    this.state = "cut";
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.state = "open";
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
