/**
 * The headers and trailers of a unary response made without calling the service (a repeated
 * idempotency key's recorded answer, idempotency.ts). Connect replaces the handler's own with
 * what an interceptor returns, so they must be what the handler would have set: the content
 * type of the request's protocol and encoding and, for gRPC and gRPC-Web, the OK status trailer.
 */
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";

export function responseParts(requestHeader: Headers): { header: Headers; trailer: Headers } {
  const type = requestHeader.get("content-type");
  const web = grpcWeb.parseContentType(type);
  if (web !== undefined)
    return {
      header: new Headers({
        "content-type": web.binary ? grpcWeb.contentTypeProto : grpcWeb.contentTypeJson,
      }),
      trailer: new Headers({ "grpc-status": grpcWeb.grpcStatusOk }),
    };
  const g = grpc.parseContentType(type);
  if (g !== undefined)
    return {
      header: new Headers({
        "content-type": g.binary ? grpc.contentTypeProto : grpc.contentTypeJson,
      }),
      trailer: new Headers({ "grpc-status": grpc.grpcStatusOk }),
    };
  const c = connect.parseContentType(type);
  return {
    header: new Headers({
      "content-type":
        c === undefined || c.binary ? connect.contentTypeUnaryProto : connect.contentTypeUnaryJson,
    }),
    trailer: new Headers(),
  };
}
