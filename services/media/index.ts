// The media module: uploads through pre-signed URLs, their verification, and download URLs.
import { MediaService } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { openBlobStore } from "./blob.open.js";
import { Media } from "./media.js";
import { mediaRoutes } from "./routes.js";
import { CassandraMediaStore } from "./store.cassandra.js";
import type { MediaStore } from "./store.js";
import { SqliteMediaStore } from "./store.sqlite.js";

export async function mediaModule(rt: Runtime): Promise<ServiceModule> {
  const store = await pickStore<MediaStore>(rt, {
    sqlite: (db) => new SqliteMediaStore(db),
    cassandra: (db) => CassandraMediaStore.open(db),
  });
  const blobs = await openBlobStore(rt);
  const media = new Media(store, blobs.store, {
    uploadTtlSeconds: rt.config.FEEDMESH_MEDIA_UPLOAD_TTL / 1000,
    downloadTtlSeconds: rt.config.FEEDMESH_MEDIA_DOWNLOAD_TTL / 1000,
  });
  return {
    name: "media",
    publishes: true,
    httpRoutes: blobs.route ? [blobs.route] : [],
    stop: () => blobs.close(),
    services: [registration(MediaService, mediaRoutes(media, rt.clients, rt.auth))],
  };
}
