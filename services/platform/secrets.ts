// The root secret, and the keys derived from it (HKDF) for service tokens, page tokens and the
// embedded blob store's URLs.
// The embedded mode keeps a random root secret in its data directory (mode 0600), so tokens
// survive a restart; separate processes get the same FEEDMESH_SECRET from their environment.
import { hkdfSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./config.js";
import { ConfigError } from "./config.js";

export interface Secrets {
  serviceTokenKey: Buffer;
  pageTokenKey: Buffer;
  /** Signs the embedded blob store's pre-signed URLs. */
  blobUrlKey: Buffer;
}

export function loadSecrets(config: Config): Secrets {
  const root = config.FEEDMESH_SECRET ? Buffer.from(config.FEEDMESH_SECRET) : embeddedRoot(config);
  const derive = (label: string) => Buffer.from(hkdfSync("sha256", root, "feedmesh", label, 32));
  return { serviceTokenKey: derive("service-token"), pageTokenKey: derive("page-token"), blobUrlKey: derive("blob-url") };
}

function embeddedRoot(config: Config): Buffer {
  if (config.FEEDMESH_STORE === "memory") return randomBytes(32);
  if (config.FEEDMESH_TARGET !== "all") {
    throw new ConfigError("invalid configuration:\n  FEEDMESH_SECRET: required when a single target runs (all processes must share it)");
  }
  const file = join(config.FEEDMESH_DATA_DIR, "secret.key");
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(config.FEEDMESH_DATA_DIR, { recursive: true });
    const secret = randomBytes(32);
    writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
    return secret;
  }
}
