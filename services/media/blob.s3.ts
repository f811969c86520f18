// The BlobStore on an S3-compatible object store (AWS S3, MinIO, versitygw, Ceph RGW, R2, ...),
// path-style. Pre-signed URLs are SigV4 query-string signatures made locally (no request to the
// store); everything else is one S3 request with a short timeout, so a store that is down fails
// within a few seconds as DependencyUnavailableError instead of hanging the RPC.
//
// Pitfalls (met on a real store): the presigner signs only `host` unless told which headers to
// sign, so content-type is passed in signableHeaders (content-length is signed because the
// command carries ContentLength); the SDK's default checksum mode would put the CRC32 of an empty
// body into pre-signed URLs, so checksums are computed only when required; the Node handler's
// requestTimeout only logs a warning unless throwOnRequestTimeout is set.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { DependencyUnavailableError } from "../platform/errors.js";
import {
  type BlobHead,
  BlobRequestError,
  type BlobRequestErrorCode,
  type BlobStore,
  type CompletedPart,
  type PresignedPut,
  type PresignPutOptions,
  sha256Base64,
  validateContentType,
  validateExpires,
  validateKey,
  validatePartList,
  validatePartNumber,
  validateSize,
} from "./blob.js";

const CHECKSUM_HEADER = "x-amz-checksum-sha256";

export interface S3BlobStoreConfig {
  /** The store's endpoint, e.g. http://127.0.0.1:19000. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (endpoint/bucket/key); true unless the store serves virtual hosts. */
  forcePathStyle?: boolean;
  /** Connect timeout of one attempt (default 1000 ms). */
  connectTimeoutMs?: number;
  /** Whole-request timeout of one attempt (default 2000 ms). */
  requestTimeoutMs?: number;
  /** Timeout of CompleteMultipartUpload, which copies the parts on some stores (default 120 s). */
  completeTimeoutMs?: number;
  /** Attempts per request, the first included (default 2). */
  maxAttempts?: number;
}

/** SDK error names that describe the request, mapped to the port's codes. */
const REQUEST_ERRORS: Record<string, BlobRequestErrorCode> = {
  NoSuchUpload: "NoSuchUpload",
  InvalidPart: "InvalidPart",
  InvalidPartOrder: "InvalidPartOrder",
  EntityTooSmall: "EntityTooSmall",
  InvalidArgument: "InvalidArgument",
};

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly completeTimeoutMs: number;

  constructor(private readonly config: S3BlobStoreConfig) {
    this.bucket = config.bucket;
    this.completeTimeoutMs = config.completeTimeoutMs ?? 120_000;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle ?? true,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: config.maxAttempts ?? 2,
      requestHandler: {
        connectionTimeout: config.connectTimeoutMs ?? 1000,
        requestTimeout: config.requestTimeoutMs ?? 2000,
        throwOnRequestTimeout: true,
      },
    });
  }

  /** Checks that the bucket answers (for readiness checks); throws DependencyUnavailableError. */
  async ping(): Promise<void> {
    await this.call(`HeadBucket ${this.bucket}`, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async presignPut(key: string, { contentType, sizeBytes, expiresSeconds, sha256 }: PresignPutOptions): Promise<PresignedPut> {
    validateKey(key);
    validateContentType(contentType);
    validateSize(sizeBytes);
    validateExpires(expiresSeconds);
    const checksum = sha256 === undefined ? undefined : sha256Base64(sha256);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: sizeBytes,
      ...(checksum ? { ChecksumSHA256: checksum } : {}),
    });
    // The checksum stays a signed header (not hoisted into the query), so the store checks the body against it.
    const url = await getSignedUrl(this.client, command, {
      expiresIn: expiresSeconds,
      signableHeaders: new Set(["content-type", "content-length", ...(checksum ? [CHECKSUM_HEADER] : [])]),
      ...(checksum ? { unhoistableHeaders: new Set([CHECKSUM_HEADER]) } : {}),
    });
    return { url, headers: { "content-type": contentType, ...(checksum ? { [CHECKSUM_HEADER]: checksum } : {}) } };
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    validateKey(key);
    validateExpires(expiresSeconds);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresSeconds });
  }

  async createMultipart(key: string, contentType: string): Promise<string> {
    validateKey(key);
    validateContentType(contentType);
    const out = await this.call(`CreateMultipartUpload ${key}`, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType })),
    );
    if (!out.UploadId) throw new Error(`S3 CreateMultipartUpload of ${key} answered no upload id`);
    return out.UploadId;
  }

  async presignPart(key: string, uploadId: string, partNumber: number, expiresSeconds: number, sizeBytes?: number): Promise<string> {
    validateKey(key);
    validateUploadId(uploadId);
    validatePartNumber(partNumber);
    validateExpires(expiresSeconds);
    if (sizeBytes !== undefined) validateSize(sizeBytes);
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ...(sizeBytes !== undefined ? { ContentLength: sizeBytes } : {}),
    });
    return getSignedUrl(this.client, command, {
      expiresIn: expiresSeconds,
      ...(sizeBytes !== undefined ? { signableHeaders: new Set(["content-length"]) } : {}),
    });
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    validateKey(key);
    validateUploadId(uploadId);
    validatePartList(parts);
    const command = new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
    });
    await this.call(`CompleteMultipartUpload ${key}`, () => this.client.send(command, { requestTimeout: this.completeTimeoutMs }));
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    validateKey(key);
    validateUploadId(uploadId);
    try {
      await this.call(`AbortMultipartUpload ${key}`, () =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })),
      );
    } catch (err) {
      if (err instanceof BlobRequestError && err.code === "NoSuchUpload") return;
      throw err;
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    validateKey(key);
    try {
      const out = await this.call(`HeadObject ${key}`, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType ?? "application/octet-stream" };
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.call(`DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  close(): void {
    this.client.destroy();
  }

  // One request, with its errors mapped to the port's.
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw mapError(err, `S3 ${what} at ${this.config.endpoint}`);
    }
  }
}

function validateUploadId(uploadId: string): void {
  if (typeof uploadId !== "string" || uploadId.length === 0 || uploadId.length > 1024) {
    throw new BlobRequestError("InvalidArgument", "invalid upload id");
  }
}

function mapError(err: unknown, what: string): unknown {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    if (status >= 500 || status === 429 || err.name === "SlowDown") {
      return new DependencyUnavailableError(`${what}: HTTP ${status} ${err.name}`, { cause: err });
    }
    const code = REQUEST_ERRORS[err.name];
    if (code) return new BlobRequestError(code, `${what}: ${err.name}: ${err.message}`);
    return err;
  }
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if ((typeof e?.code === "string" && NETWORK_CODES.has(e.code)) || e?.name === "TimeoutError") {
    return new DependencyUnavailableError(`${what}: ${String(e?.message ?? e?.code)}`, { cause: err });
  }
  return err;
}
