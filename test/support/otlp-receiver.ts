/**
 * A tiny OTLP/HTTP trace receiver for tests: a plain node:http server on 127.0.0.1:0 that takes
 * `POST /v1/traces` with JSON bodies (what @opentelemetry/exporter-trace-otlp-http sends),
 * keeps every span, and lets a test wait until the spans it expects have arrived.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The resource's attributes (service.name, …). */
  readonly resource: Readonly<Record<string, unknown>>;
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

interface ExportBody {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        status?: { code?: number; message?: string };
        attributes?: KeyValue[];
      }[];
    }[];
  }[];
}

/** OTLP JSON writes ids as hex; accept base64 too (protobuf's JSON mapping). */
function hexId(id: string | undefined): string {
  if (id === undefined || id === "") return "";
  if (/^[0-9a-f]+$/.test(id) && (id.length === 16 || id.length === 32)) return id;
  return Buffer.from(id, "base64").toString("hex");
}

function valueOf(v: Record<string, unknown>): unknown {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  return v;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests that could not be read. */
  readonly errors: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const receiver: { r?: OtlpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        receiver.r?.received(req.url ?? "", req.headers["content-type"] ?? "", chunks);
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    receiver.r = new OtlpReceiver(server);
    return receiver.r;
  }

  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  get endpoint(): string {
    return `http://127.0.0.1:${String((this.server.address() as AddressInfo).port)}`;
  }

  /** Resolves with the spans once `done` holds for them (checked on every export). */
  until<T>(done: (spans: readonly ReceivedSpan[]) => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const v = done(this.spans);
        if (v === undefined) return false;
        this.waiters.delete(check);
        resolve(v);
        return true;
      };
      if (!check()) this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private received(url: string, contentType: string, chunks: Buffer[]): void {
    if (url !== "/v1/traces" || !contentType.startsWith("application/json")) {
      this.errors.push(`${url} ${contentType}`);
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportBody;
    for (const rs of body.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: s.name,
            startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
            endMs: Number(BigInt(s.endTimeUnixNano) / 1_000_000n),
            statusCode: s.status?.code ?? 0,
            statusMessage: s.status?.message ?? "",
            attributes: attributesOf(s.attributes),
            resource,
          });
    }
    for (const w of [...this.waiters]) w();
  }
}
