// Media end to end on Cassandra, Kafka and an S3-compatible store (versitygw from
// scripts/infra/s3.sh by default), all services in one process.
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { S3BlobStore } from "../services/media/blob.s3.js";
import { mediaSuite } from "./media.suite.js";

const s3 = {
  FEEDMESH_S3_ENDPOINT: process.env.FEEDMESH_S3_ENDPOINT ?? "http://127.0.0.1:19000",
  FEEDMESH_S3_REGION: process.env.FEEDMESH_S3_REGION ?? "us-east-1",
  FEEDMESH_S3_BUCKET: process.env.FEEDMESH_S3_BUCKET ?? "feedmesh-media",
  FEEDMESH_S3_ACCESS_KEY_ID: process.env.FEEDMESH_S3_ACCESS_KEY_ID ?? "feedmesh",
  FEEDMESH_S3_SECRET_ACCESS_KEY: process.env.FEEDMESH_S3_SECRET_ACCESS_KEY ?? "feedmesh-secret-key",
};

mediaSuite(
  "Cassandra, Kafka, S3",
  {
    ...s3,
    FEEDMESH_STORE: "cassandra",
    FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
    FEEDMESH_KAFKA_TOPIC_PREFIX: `media${process.pid}.`,
    FEEDMESH_SECRET: "a-media-suite-secret-long-enough-0000",
  },
  {
    // The bucket is shared: delete what this run stored, and abort its unfinished multipart uploads.
    cleanup: async (keys) => {
      const store = new S3BlobStore({
        endpoint: s3.FEEDMESH_S3_ENDPOINT,
        region: s3.FEEDMESH_S3_REGION,
        bucket: s3.FEEDMESH_S3_BUCKET,
        accessKeyId: s3.FEEDMESH_S3_ACCESS_KEY_ID,
        secretAccessKey: s3.FEEDMESH_S3_SECRET_ACCESS_KEY,
      });
      for (const key of keys) {
        await store.delete(key);
        const { Uploads = [] } = await store.client.send(new ListMultipartUploadsCommand({ Bucket: s3.FEEDMESH_S3_BUCKET, Prefix: key }));
        for (const u of Uploads) await store.abortMultipart(key, u.UploadId!);
      }
      store.close();
    },
  },
);
