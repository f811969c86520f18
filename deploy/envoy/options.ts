// The options of the edge config: where it listens, where each target is, and its policies.
import type { ServiceName } from "../../services/platform/clients.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface Bucket {
  /** Burst size. */
  maxTokens: number;
  /** Tokens added every second. */
  perSecond: number;
}

export interface EdgeOptions {
  host: string;
  httpPort: number;
  grpcPort: number;
  adminPort: number;
  /** Each target's HTTP (connect-node: Connect, gRPC-Web, gRPC over h2c) and gRPC (grpc-js) ports. */
  upstream(target: ServiceName): { http: Endpoint; grpc: Endpoint };
  /** STRICT_DNS for host names (Kubernetes services), STATIC for IP addresses. */
  dns: boolean;
  /** Paths as Envoy reads them: relative to its working directory, the config's directory. */
  descriptorFile: string;
  openapiFile: string;
  issuer: string;
  /** Browser origins allowed by CORS, as RE2 regexes. */
  corsOrigins: string[];
  /** Token buckets per route class, shared by every client of this Envoy. */
  rateLimits: { auth: Bucket; write: Bucket; read: Bucket };
  /** The largest REST/JSON request body; larger is 413. */
  maxRequestBytes: number;
  /** Leeway for exp/nbf, in seconds. */
  clockSkewSeconds: number;
  /**
   * Zipkin's address: Envoy then starts or continues each request's W3C trace (its span joins
   * the services' spans, and the access log has the trace id even when the client sent none).
   */
  zipkin?: Endpoint;
}

export type Obj = Record<string, unknown>;

/** The defaults of the mesh profile; the tests override ports, limits and paths. */
export const DEFAULT_LIMITS = {
  auth: { maxTokens: 20, perSecond: 5 },
  write: { maxTokens: 400, perSecond: 200 },
  read: { maxTokens: 2000, perSecond: 1000 },
};
