// The BlobStore contract on the S3 adapter against a real S3-compatible store (versitygw from
// scripts/infra/s3.sh by default). Objects go under a key prefix unique to the run.
import { S3BlobStore } from "../../services/media/blob.s3.js";
import { blobStoreContract } from "./blob.contract.js";

blobStoreContract("S3 (versitygw or any S3-compatible store)", async () => {
  const store = new S3BlobStore({
    endpoint: process.env.FEEDMESH_S3_ENDPOINT ?? "http://127.0.0.1:19000",
    region: process.env.FEEDMESH_S3_REGION ?? "us-east-1",
    bucket: process.env.FEEDMESH_S3_BUCKET ?? "feedmesh-media",
    accessKeyId: process.env.FEEDMESH_S3_ACCESS_KEY_ID ?? "feedmesh",
    secretAccessKey: process.env.FEEDMESH_S3_SECRET_ACCESS_KEY ?? "feedmesh-secret-key",
    forcePathStyle: true,
  });
  await store.ping();
  return { store, close: async () => store.close() };
});
