// grpc.reflection.v1 from the descriptors embedded in the generated code, so that grpcurl and
// `buf curl` work against a running server without local protos.
import { create, createRegistry, type DescFile, type Registry, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";

const NOT_FOUND = 5;

/** The files served: each by its name ("feedmesh/post/v1/post_service.proto") and its symbols. */
export class DescriptorIndex {
  readonly files = new Map<string, DescFile>();
  readonly registry: Registry;
  constructor(roots: DescFile[]) {
    const visit = (f: DescFile) => {
      if (this.files.has(f.proto.name)) return;
      this.files.set(f.proto.name, f);
      for (const d of f.dependencies) visit(d);
    };
    for (const f of roots) visit(f);
    this.registry = createRegistry(...this.files.values());
  }
}

export function reflectionImpl(index: DescriptorIndex, serviceNames: () => string[]): ServiceImpl<typeof ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(index, serviceNames, req);
    },
  };
}

function answer(index: DescriptorIndex, serviceNames: () => string[], req: ServerReflectionRequest): ServerReflectionResponse {
  const registry = index.registry;
  const base = { validHost: req.host, originalRequest: req };
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDeps(file) } },
        })
      : notFound(base, what);
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "listServicesResponse", value: { service: serviceNames().map((name) => ({ name })) } },
      });
    case "fileByFilename":
      return files(index.files.get(r.value), `file ${r.value}`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, r.value), `symbol ${r.value}`);
    case "fileContainingExtension": {
      const ext = registry.getExtensionFor(registry.getMessage(r.value.containingType) as never, r.value.extensionNumber);
      return files(ext?.file, `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const msg = registry.getMessage(r.value);
      if (!msg) return notFound(base, `type ${r.value}`);
      const numbers = [...registry]
        .filter((d) => d.kind === "extension" && d.extendee.typeName === r.value)
        .map((d) => (d.kind === "extension" ? d.number : 0));
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: numbers } },
      });
    }
    default:
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "errorResponse", value: { errorCode: 12, errorMessage: "unsupported request" } },
      });
  }
}

function notFound(base: object, what: string): ServerReflectionResponse {
  return create(ServerReflectionResponseSchema, {
    ...base,
    messageResponse: { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } },
  });
}

/** A symbol may be a message, enum, service, method ("pkg.Service.Method") or extension. */
function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const desc = registry.get(symbol);
  if (desc) return desc.file;
  const dot = symbol.lastIndexOf(".");
  const service = registry.getService(symbol.slice(0, dot));
  return service?.methods.some((m) => m.name === symbol.slice(dot + 1)) ? service.file : undefined;
}

/** The file and its transitive dependencies, the file first, as serialized descriptors. */
function withDeps(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const d of f.dependencies) visit(d);
  };
  visit(file);
  return out;
}
