// The media service's blob-store port: bytes never flow through the services. The service hands
// out pre-signed URLs scoped to one object key (and, for uploads, its content type and size) that
// stop working after a short time; clients PUT and GET straight against the store. Adapters:
// blob.s3.ts (any S3-compatible store) and blob.embedded.ts (files in a directory, served by the
// one-process mode's HTTP server). docs/media-storage.md describes both.
//
// Errors: a store that cannot be reached (refused, timed out, answering 5xx) throws
// DependencyUnavailableError (services/platform/errors.ts), which the RPC layer maps to
// UNAVAILABLE; a request the store refuses for what it asks (an unknown upload, a bad part list,
// an invalid key) throws BlobRequestError; a missing object is `null` from head, never an error.

export interface PresignPutOptions {
  /** The content type the PUT must carry exactly (it is signed). */
  contentType: string;
  /** The object's size in bytes (signed: a larger body is refused). */
  sizeBytes: number;
  /** How long the URL works, in seconds (1 to 604800). */
  expiresSeconds: number;
  /**
   * The SHA-256 of the content (lowercase hex), if known: the URL then needs the
   * `x-amz-checksum-sha256` header (returned in `headers`), and the store refuses a body with
   * another digest (400 BadDigest).
   */
  sha256?: string;
}

export interface PresignedPut {
  url: string;
  /** Headers the client must send exactly, because they are signed (content-type, the checksum). */
  headers: Record<string, string>;
}

export interface BlobHead {
  sizeBytes: number;
  contentType: string;
}

/** The receipt of one uploaded part: its number and the ETag header its PUT answered. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface BlobStore {
  /**
   * A URL for one PUT of the whole object, bound to the key, the content type and the size
   * (the S3 adapter signs content-length, so the body must be exactly `sizeBytes`; the embedded
   * one refuses a body larger than it). The client sends `headers` as given.
   */
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut>;
  /** A URL for GETs of the object until it expires. */
  presignGet(key: string, expiresSeconds: number): Promise<string>;
  /** Starts a multipart upload of an object of this content type; returns its upload id. */
  createMultipart(key: string, contentType: string): Promise<string>;
  /**
   * A URL for the PUT of one part (1 to 10000) of a multipart upload. Its answer carries the
   * part's ETag header, to pass to completeMultipart. Every part but the last must be at least
   * MIN_PART_BYTES. With `sizeBytes`, the URL is also bound to the part's length.
   */
  presignPart(key: string, uploadId: string, partNumber: number, expiresSeconds: number, sizeBytes?: number): Promise<string>;
  /** Joins these parts, in ascending part-number order, into the object and ends the upload. */
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void>;
  /** Drops an upload and its parts; an unknown (or already finished) upload is no error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** The object's size and content type, or null when there is no such object. */
  head(key: string): Promise<BlobHead | null>;
  /** Deletes the object; deleting a missing object is no error. */
  delete(key: string): Promise<void>;
}

export type BlobRequestErrorCode =
  | "InvalidKey"
  | "InvalidArgument"
  | "NoSuchUpload"
  | "InvalidPart"
  | "InvalidPartOrder"
  | "EntityTooSmall";

/** The store refused a request for what it asks (not because the store is down). */
export class BlobRequestError extends Error {
  override name = "BlobRequestError";
  constructor(
    readonly code: BlobRequestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** S3's minimum size of every part of a multipart upload but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's maximum size of one part, and of one single-request PUT. */
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** SigV4's longest pre-signed URL lifetime: seven days. */
export const MAX_EXPIRES_SECONDS = 604_800;

const KEY = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/**
 * Keys are slash-separated segments of [A-Za-z0-9_.-], at most 1024 bytes; no empty, "." or ".."
 * segment, no leading or trailing slash. Every adapter checks them, so a key never escapes the
 * embedded store's directory and never needs URL encoding.
 */
export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0 || key.length > 1024 || !KEY.test(key)) {
    throw new BlobRequestError("InvalidKey", `invalid object key ${JSON.stringify(key)}`);
  }
  for (const segment of key.split("/")) {
    if (segment === "." || segment === "..") throw new BlobRequestError("InvalidKey", `invalid object key ${JSON.stringify(key)}`);
  }
}

export function validateExpires(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_SECONDS) {
    throw new BlobRequestError("InvalidArgument", `expiresSeconds must be an integer from 1 to ${MAX_EXPIRES_SECONDS}, got ${seconds}`);
  }
}

/** A media type such as image/png (parameters allowed): printable ASCII without spaces around. */
export function validateContentType(contentType: string): void {
  if (
    typeof contentType !== "string" ||
    contentType.length > 255 ||
    !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[ -~]*)?$/.test(contentType)
  ) {
    throw new BlobRequestError("InvalidArgument", `invalid content type ${JSON.stringify(contentType)}`);
  }
}

export function validateSize(sizeBytes: number, max = MAX_PART_BYTES): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > max) {
    throw new BlobRequestError("InvalidArgument", `size must be an integer from 0 to ${max} bytes, got ${sizeBytes}`);
  }
}

export function validatePartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    throw new BlobRequestError("InvalidArgument", `partNumber must be an integer from 1 to ${MAX_PARTS}, got ${partNumber}`);
  }
}

/** Part numbers strictly ascending, at least one part. */
export function validatePartList(parts: CompletedPart[]): void {
  if (parts.length === 0) throw new BlobRequestError("InvalidPart", "a multipart upload needs at least one part");
  let last = 0;
  for (const p of parts) {
    validatePartNumber(p.partNumber);
    if (p.partNumber <= last) throw new BlobRequestError("InvalidPartOrder", "parts must be listed in ascending part-number order");
    last = p.partNumber;
  }
}

/** A SHA-256 in lowercase hex, as the port takes it, turned into the base64 of S3's checksum header. */
export function sha256Base64(hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new BlobRequestError("InvalidArgument", "sha256 must be 64 lowercase hex digits");
  return Buffer.from(hex, "hex").toString("base64");
}

/** An ETag without its quotes (S3 quotes them; clients pass either). */
export function bareEtag(etag: string): string {
  return etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
}
