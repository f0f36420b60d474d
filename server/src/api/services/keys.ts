/** KeyService: scoped API keys; convert, delegate to the key use cases, answer. */
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyRecord } from "../../domain/keys.js";
import type { ApiKey, KeyService } from "../../gen/metronome/v1/key_service_pb.js";
import { ApiKeySchema } from "../../gen/metronome/v1/key_service_pb.js";
import type { KeyManager } from "../../management/keys.js";
import { create } from "@bufbuild/protobuf";
import { ts } from "../convert/time.js";

export function keyToProto(k: ApiKeyRecord): ApiKey {
  return create(ApiKeySchema, {
    keyId: k.id,
    name: k.name,
    scopes: [...k.scopes],
    createdAt: ts(k.createdAt),
    createdBy: k.createdBy,
    expiresAt: k.expiresAt === null ? undefined : ts(k.expiresAt),
    revokedAt: k.revokedAt === null ? undefined : ts(k.revokedAt),
    revokedBy: k.revokedBy ?? "",
  });
}

const ms = (t: Timestamp | undefined): number | undefined =>
  t === undefined ? undefined : timestampMs(t);

export function keyService(keys: KeyManager): Partial<ServiceImpl<typeof KeyService>> {
  return {
    async createKey(req) {
      const { key, secret } = await keys.create({
        name: req.name,
        scopes: req.scopes,
        expiresAt: ms(req.expiresAt),
      });
      return { key: keyToProto(key), secret };
    },

    async listKeys() {
      return { keys: (await keys.list()).map(keyToProto) };
    },

    async revokeKey(req) {
      return { key: keyToProto(await keys.revoke(req.keyId)) };
    },
  };
}
