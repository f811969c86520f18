// The blob store of this process: S3 (any S3-compatible store) when FEEDMESH_S3_ENDPOINT is set,
// else the embedded store, whose pre-signed URLs this process's HTTP port serves at /blobs (or at
// FEEDMESH_MEDIA_PUBLIC_URL's path, behind a proxy).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Runtime } from "../platform/app.js";
import { loadSecrets } from "../platform/secrets.js";
import type { HttpRoute } from "../platform/service.js";
import { EmbeddedBlobStore } from "./blob.embedded.js";
import type { BlobStore } from "./blob.js";
import { S3BlobStore } from "./blob.s3.js";

export interface OpenedBlobStore {
  /** The store; the embedded one is made on first use, once the HTTP port (its URL) is known. */
  store(): BlobStore;
  /** The HTTP route serving the embedded store's URLs. */
  route?: HttpRoute;
  close(): Promise<void>;
}

export async function openBlobStore(rt: Runtime): Promise<OpenedBlobStore> {
  const c = rt.config;
  if (c.FEEDMESH_S3_ENDPOINT) {
    const s3 = new S3BlobStore({
      endpoint: c.FEEDMESH_S3_ENDPOINT,
      region: c.FEEDMESH_S3_REGION,
      bucket: c.FEEDMESH_S3_BUCKET,
      accessKeyId: c.FEEDMESH_S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: c.FEEDMESH_S3_SECRET_ACCESS_KEY ?? "",
    });
    return { store: () => s3, close: async () => s3.close() };
  }
  // An in-memory system (tests) keeps its objects in a temp directory, removed when it stops.
  const temporary = c.FEEDMESH_STORE === "memory";
  const dir = temporary ? await mkdtemp(join(tmpdir(), "feedmesh-blobs-")) : join(c.FEEDMESH_DATA_DIR, "blobs");
  const key = loadSecrets(c).blobUrlKey;
  let embedded: EmbeddedBlobStore | undefined;
  const store = () =>
    (embedded ??= new EmbeddedBlobStore(dir, key, c.FEEDMESH_MEDIA_PUBLIC_URL ?? `${rt.httpUrl()}/blobs`, {
      log: rt.log.child({ component: "blobs" }),
    }));
  return {
    store,
    route: (req, res) => store().handle(req, res),
    close: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}
