// The "stack" echo server's interceptors: wrapService with every interceptor on, built as app.ts
// builds them for the services: OpenTelemetry started as startApp starts it (W3C propagation,
// spans recorded, no exporter unless OTEL_TRACES_EXPORTER says), the pino logger at "error", a
// TokenVerifier over the run's JWKS (auth.ts; it remembers a verified token for a minute, as in
// the services), protovalidate's validator, and the default and max deadlines of the config.
import { createValidator } from "@bufbuild/protovalidate";
import type { JSONWebKeySet } from "jose";
import { PUBLIC_METHODS, TokenVerifier } from "../../services/platform/auth.js";
import { loadConfig } from "../../services/platform/config.js";
import { createLogger } from "../../services/platform/log.js";
import { wrapService } from "../../services/platform/middleware.js";
import type { ServiceRegistration } from "../../services/platform/service.js";
import { startTelemetry } from "../../services/platform/telemetry.js";

export function withInterceptors(reg: ServiceRegistration, jwks: JSONWebKeySet): ServiceRegistration {
  for (const m of reg.desc.methods) {
    const rpc = `${reg.desc.typeName}/${m.name}`;
    if (PUBLIC_METHODS.has(rpc)) throw new Error(`${rpc} is public: authentication would not run`);
  }
  const config = loadConfig({});
  startTelemetry("feedmesh-bench-rpc");
  return wrapService(reg, {
    log: createLogger("error", { bench: "rpc" }),
    verifier: new TokenVerifier(config.FEEDMESH_ISSUER, Buffer.alloc(32, 1), async () => jwks),
    validator: createValidator(),
    defaultDeadlineMs: config.FEEDMESH_DEFAULT_DEADLINE,
    maxDeadlineMs: config.FEEDMESH_MAX_DEADLINE,
  });
}
