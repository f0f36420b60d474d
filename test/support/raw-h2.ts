/**
 * HTTP/2 spoken by hand over a raw socket, for tests that play a hostile client: the preface,
 * frames, a HEADERS block in literal HPACK (no table, no Huffman), and a reader that splits what
 * the server sends into frames.
 */
import net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
} as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string (length < 127, no Huffman). */
function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, "latin1");
  if (bytes.length >= 127) throw new Error("header too long for this encoder");
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** A header block of literal fields without indexing, new names. */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(
    headers.map(([name, value]) =>
      Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)]),
    ),
  );
}

/** The HEADERS frame of a gRPC call to `path` (END_HEADERS, the body to follow). */
export function grpcRequestHeaders(streamId: number, path: string): Buffer {
  const block = headerBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  return frame(FrameType.HEADERS, 0x4, streamId, block);
}

export function rstStream(streamId: number, code = 8 /* CANCEL */): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export const EMPTY_SETTINGS = frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0));

export interface ReceivedFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** A raw client: what it sent, the frames the server sent back, and when the socket closed. */
export class RawConnection {
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9) {
        const length = this.buffered.readUIntBE(0, 3);
        if (this.buffered.length < 9 + length) break;
        this.frames.push({
          type: this.buffered.readUInt8(3),
          flags: this.buffered.readUInt8(4),
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: this.buffered.subarray(9, 9 + length),
        });
        this.buffered = this.buffered.subarray(9 + length);
      }
    });
    // Resets and write errors after the server cut the connection are what the test expects.
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        resolve();
      });
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawConnection(socket);
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The GOAWAY frames' error codes. */
  goAwayCodes(): number[] {
    return this.frames
      .filter((f) => f.type === FrameType.GOAWAY)
      .map((f) => f.payload.readUInt32BE(4));
  }

  /** The last stream id of the first GOAWAY frame (the last stream the server processed). */
  goAwayLastStream(): number | undefined {
    return this.frames.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
