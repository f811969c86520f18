// The BlobStore of the one-process mode: objects are files under a directory, and `handle` serves
// the pre-signed URLs from the platform's HTTP server (mounted at the base URL's path, /blobs).
// Pre-signed URLs carry an expiry and an HMAC-SHA256 (the store's secret key) over the method,
// the key, the expiry and, for a PUT, the content type, the size limit and the SHA-256 checksum
// header if one was asked for (the body must then match it); for a part, the upload
// id and part number. The store behaves like S3 where clients can tell: 403 with an XML error for
// a bad or expired signature, ETag headers (MD5 hex in quotes) on PUTs, 5 MiB minimum parts.
//
// Layout under `dir`:
//   objects/<key>~       one file per object: the header line `FMBLOB1 {"contentType":...}\n`,
//                        then the bytes. "~" is outside the key alphabet, so an object's file
//                        is never a directory of another key ("a" and "a/b" coexist).
//   uploads/<id>/upload.json   the multipart upload's key and content type
//   uploads/<id>/<n>           part n
//   tmp/                  uploads in flight; renamed into place when complete (readers never
//                         see half an object)
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import type http from "node:http";
import type http2 from "node:http2";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "../platform/log.js";
import {
  type BlobHead,
  BlobRequestError,
  type BlobStore,
  bareEtag,
  type CompletedPart,
  MAX_PART_BYTES,
  MIN_PART_BYTES,
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

const MAGIC = "FMBLOB1 ";
const CHECKSUM_HEADER = "x-amz-checksum-sha256";
const HEADER_MAX = 4096;
const UPLOAD_ID = /^[0-9a-f]{32}$/;

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
/** What handle needs of an HTTP/1 or HTTP/2 compatibility response. */
interface Reply {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string): unknown;
  destroy(err?: Error): unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface UploadMeta {
  key: string;
  contentType: string;
}

export class EmbeddedBlobStore implements BlobStore {
  private readonly baseUrl: string;
  private readonly mount: string;
  private ready: Promise<void> | undefined;

  /**
   * @param dir the directory holding the objects (created when missing)
   * @param secret the HMAC key of pre-signed URLs (at least 32 random bytes; keep it stable
   *   across restarts, or URLs handed out before a restart stop working)
   * @param baseUrl where `handle` is reachable from clients, e.g. http://127.0.0.1:8080/blobs
   * @param options.log where `handle` logs unexpected failures (answered as 500)
   */
  constructor(
    private readonly dir: string,
    private readonly secret: Buffer,
    baseUrl: string,
    private readonly options: { log?: Logger } = {},
  ) {
    if (secret.length < 16) throw new Error("the blob store's secret key must be at least 16 bytes");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.mount = new URL(this.baseUrl).pathname.replace(/\/+$/, "");
    if (this.mount === "") throw new Error(`the blob store's base URL needs a path, such as /blobs: ${baseUrl}`);
  }

  async presignPut(key: string, { contentType, sizeBytes, expiresSeconds, sha256 }: PresignPutOptions): Promise<PresignedPut> {
    validateKey(key);
    validateContentType(contentType);
    validateSize(sizeBytes);
    validateExpires(expiresSeconds);
    const checksum = sha256 === undefined ? "" : sha256Base64(sha256);
    const expires = expiry(expiresSeconds);
    const sig = this.sign(["PUT", key, expires, contentType, sizeBytes, checksum]);
    return {
      url: `${this.baseUrl}/${key}?expires=${expires}&size=${sizeBytes}&sig=${sig}`,
      headers: { "content-type": contentType, ...(checksum ? { [CHECKSUM_HEADER]: checksum } : {}) },
    };
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    validateKey(key);
    validateExpires(expiresSeconds);
    const expires = expiry(expiresSeconds);
    return `${this.baseUrl}/${key}?expires=${expires}&sig=${this.sign(["GET", key, expires])}`;
  }

  async createMultipart(key: string, contentType: string): Promise<string> {
    validateKey(key);
    validateContentType(contentType);
    await this.init();
    const uploadId = randomBytes(16).toString("hex");
    await mkdir(this.uploadDir(uploadId));
    const meta: UploadMeta = { key, contentType };
    await writeFile(join(this.uploadDir(uploadId), "upload.json"), JSON.stringify(meta));
    return uploadId;
  }

  async presignPart(key: string, uploadId: string, partNumber: number, expiresSeconds: number, sizeBytes?: number): Promise<string> {
    validateKey(key);
    validateUploadId(uploadId);
    validatePartNumber(partNumber);
    validateExpires(expiresSeconds);
    const size = sizeBytes ?? MAX_PART_BYTES;
    validateSize(size);
    const expires = expiry(expiresSeconds);
    const sig = this.sign(["PART", key, expires, uploadId, partNumber, size]);
    return `${this.baseUrl}/${key}?partNumber=${partNumber}&uploadId=${uploadId}&expires=${expires}&size=${size}&sig=${sig}`;
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    validateKey(key);
    validateUploadId(uploadId);
    validatePartList(parts);
    const upload = await this.readUpload(key, uploadId);
    for (const [i, p] of parts.entries()) {
      const size = await stat(this.partPath(uploadId, p.partNumber)).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) throw new BlobRequestError("InvalidPart", `part ${p.partNumber} of upload ${uploadId} was not uploaded`);
      if (size < MIN_PART_BYTES && i < parts.length - 1) {
        throw new BlobRequestError(
          "EntityTooSmall",
          `part ${p.partNumber} has ${size} bytes; every part but the last needs ${MIN_PART_BYTES}`,
        );
      }
    }
    const tmp = await this.tmpPath();
    const out = createWriteStream(tmp, { flags: "wx" });
    try {
      await write(out, encodeHeader(upload.contentType));
      for (const p of parts) {
        const md5 = createHash("md5");
        for await (const chunk of createReadStream(this.partPath(uploadId, p.partNumber)) as AsyncIterable<Buffer>) {
          md5.update(chunk);
          await write(out, chunk);
        }
        if (md5.digest("hex") !== bareEtag(p.etag))
          throw new BlobRequestError("InvalidPart", `the ETag of part ${p.partNumber} does not match its content`);
      }
      out.end();
      await once(out, "finish");
      await this.commit(tmp, key);
    } catch (err) {
      out.destroy();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    validateKey(key);
    validateUploadId(uploadId);
    try {
      await this.readUpload(key, uploadId);
    } catch (err) {
      if (err instanceof BlobRequestError && err.code === "NoSuchUpload") return;
      throw err;
    }
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  async head(key: string): Promise<BlobHead | null> {
    validateKey(key);
    const object = await this.openObject(key);
    if (!object) return null;
    await object.file.close();
    return { sizeBytes: object.sizeBytes, contentType: object.contentType };
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await unlink(this.objectPath(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  /**
   * Serves the pre-signed URLs: PUT of an object or a part, GET of an object. Answers and
   * returns true for every path under the base URL's path; returns false (touching nothing) for
   * other paths, so the caller can route them elsewhere.
   */
  async handle(req: Request, res: Response): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(`${this.mount}/`)) return false;
    const reply = res as unknown as Reply;
    try {
      let key: string;
      try {
        key = decodeURIComponent(url.pathname.slice(this.mount.length + 1));
        validateKey(key);
      } catch {
        throw new HttpError(400, "InvalidKey", "invalid object key");
      }
      const q = url.searchParams;
      if (req.method === "PUT" && (q.has("uploadId") || q.has("partNumber"))) await this.servePart(req, reply, key, q);
      else if (req.method === "PUT") await this.servePut(req, reply, key, q);
      else if (req.method === "GET") await this.serveGet(req, reply, key, q);
      else throw new HttpError(405, "MethodNotAllowed", "only GET and PUT of pre-signed URLs are served");
    } catch (err) {
      // A client that went away (mid-body or mid-download) gets nothing and logs nothing.
      const gone = (req as { destroyed?: boolean }).destroyed === true || (req as { aborted?: boolean }).aborted === true;
      if (reply.headersSent || (gone && !(err instanceof HttpError))) reply.destroy();
      else if (err instanceof HttpError) sendError(reply, err.status, err.code, err.message);
      else {
        this.options.log?.error({ err, method: req.method, path: url.pathname }, "blob store request failed");
        sendError(reply, 500, "InternalError", "the blob store failed");
      }
    }
    return true;
  }

  private async servePut(req: Request, res: Reply, key: string, q: URLSearchParams): Promise<void> {
    const expires = q.get("expires") ?? "";
    const size = q.get("size") ?? "";
    const contentType = (header(req, "content-type") ?? "").trim();
    const checksum = (header(req, CHECKSUM_HEADER) ?? "").trim();
    this.verify(["PUT", key, expires, contentType, size, checksum], q);
    const length = contentLength(req, Number(size));
    const tmp = await this.tmpPath();
    try {
      const etag = await receive(req, tmp, length, encodeHeader(contentType), checksum);
      await this.commit(tmp, key);
      res.writeHead(200, { etag: `"${etag}"`, "content-length": 0 });
      res.end();
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  private async servePart(req: Request, res: Reply, key: string, q: URLSearchParams): Promise<void> {
    const uploadId = q.get("uploadId") ?? "";
    const partNumber = q.get("partNumber") ?? "";
    const expires = q.get("expires") ?? "";
    const size = q.get("size") ?? "";
    this.verify(["PART", key, expires, uploadId, partNumber, size], q);
    const length = contentLength(req, Number(size));
    try {
      await this.readUpload(key, uploadId);
    } catch (err) {
      if (err instanceof BlobRequestError)
        throw new HttpError(404, "NoSuchUpload", "the upload does not exist; it may have been completed or aborted");
      throw err;
    }
    const tmp = await this.tmpPath();
    try {
      const etag = await receive(req, tmp, length, null);
      await rename(tmp, this.partPath(uploadId, Number(partNumber))).catch((err: NodeJS.ErrnoException) => {
        throw err.code === "ENOENT" ? new HttpError(404, "NoSuchUpload", "the upload was completed or aborted meanwhile") : err;
      });
      res.writeHead(200, { etag: `"${etag}"`, "content-length": 0 });
      res.end();
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  private async serveGet(req: Request, res: Reply, key: string, q: URLSearchParams): Promise<void> {
    this.verify(["GET", key, q.get("expires") ?? ""], q);
    const object = await this.openObject(key);
    if (!object) throw new HttpError(404, "NoSuchKey", "the object does not exist");
    const headers: Record<string, string | number> = {
      "content-type": object.contentType,
      "accept-ranges": "bytes",
      "cache-control": "private, max-age=0",
      "x-content-type-options": "nosniff",
    };
    // One byte range (video players seek with them); anything else gets the whole object.
    const range = parseRange(header(req, "range"), object.sizeBytes);
    if (range === "unsatisfiable") {
      await object.file.close();
      throw new HttpError(416, "InvalidRange", "the requested range is not satisfiable");
    }
    const [start, end] = range ?? [0, object.sizeBytes - 1];
    if (range) headers["content-range"] = `bytes ${start}-${end}/${object.sizeBytes}`;
    headers["content-length"] = end - start + 1;
    res.writeHead(range ? 206 : 200, headers);
    if (end < start) {
      await object.file.close();
      res.end();
      return;
    }
    // The handle now belongs to the stream, which closes it.
    const stream = object.file.createReadStream({ start: object.offset + start, end: object.offset + end });
    await pipeline(stream, res as unknown as NodeJS.WritableStream);
  }

  /** Checks the URL's signature over these fields (the third is the expiry), then the expiry. */
  private verify(fields: [string, string, string, ...string[]], q: URLSearchParams): void {
    const given = Buffer.from(q.get("sig") ?? "", "utf8");
    const wanted = Buffer.from(this.sign(fields), "utf8");
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new HttpError(403, "SignatureDoesNotMatch", "the request signature does not match the URL's");
    }
    const expires = Number(fields[2]);
    if (!Number.isSafeInteger(expires) || Date.now() / 1000 > expires) throw new HttpError(403, "AccessDenied", "Request has expired");
  }

  private sign(fields: (string | number)[]): string {
    return createHmac("sha256", this.secret).update(fields.join("\n")).digest("base64url");
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of ["objects", "uploads", "tmp"]) await mkdir(join(this.dir, d), { recursive: true });
    })();
    return this.ready;
  }

  private objectPath(key: string): string {
    return join(this.dir, "objects", `${key}~`);
  }

  private uploadDir(uploadId: string): string {
    return join(this.dir, "uploads", uploadId);
  }

  private partPath(uploadId: string, partNumber: number): string {
    return join(this.uploadDir(uploadId), String(partNumber));
  }

  private async tmpPath(): Promise<string> {
    await this.init();
    return join(this.dir, "tmp", randomBytes(12).toString("hex"));
  }

  private async commit(tmp: string, key: string): Promise<void> {
    const path = this.objectPath(key);
    await mkdir(dirname(path), { recursive: true });
    await rename(tmp, path);
  }

  private async readUpload(key: string, uploadId: string): Promise<UploadMeta> {
    let meta: UploadMeta;
    try {
      meta = JSON.parse(await readFile(join(this.uploadDir(uploadId), "upload.json"), "utf8")) as UploadMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobRequestError("NoSuchUpload", `no upload ${uploadId}`);
      throw err;
    }
    if (meta.key !== key) throw new BlobRequestError("NoSuchUpload", `no upload ${uploadId} of ${key}`);
    return meta;
  }

  /** The object's file, opened, with its header parsed; null when missing. The caller closes it. */
  private async openObject(key: string): Promise<{ file: FileHandle; offset: number; sizeBytes: number; contentType: string } | null> {
    let file: FileHandle;
    try {
      file = await open(this.objectPath(key), "r");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return null;
      throw err;
    }
    try {
      const { size } = await file.stat();
      const buf = Buffer.alloc(Math.min(HEADER_MAX, size));
      await file.read(buf, 0, buf.length, 0);
      const end = buf.indexOf(0x0a);
      if (end < 0 || buf.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) throw new Error(`corrupt blob file for ${key}`);
      const header = JSON.parse(buf.subarray(MAGIC.length, end).toString("utf8")) as { contentType: string };
      return { file, offset: end + 1, sizeBytes: size - end - 1, contentType: header.contentType };
    } catch (err) {
      await file.close();
      throw err;
    }
  }
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range of an object of `size` bytes, inclusive. */
function parseRange(value: string | undefined, size: number): [number, number] | "unsatisfiable" | null {
  const m = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  if (m[2] !== "" && Number(m[2]) < start) return null; // invalid: ignored, as RFC 9110 says
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  return [start, end];
}

function expiry(expiresSeconds: number): number {
  return Math.floor(Date.now() / 1000) + expiresSeconds;
}

function validateUploadId(uploadId: string): void {
  if (!UPLOAD_ID.test(uploadId)) throw new BlobRequestError("NoSuchUpload", "invalid upload id");
}

function encodeHeader(contentType: string): Buffer {
  return Buffer.from(`${MAGIC}${JSON.stringify({ contentType })}\n`, "utf8");
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request's declared length, which must be present and at most the signed size. */
function contentLength(req: Request, signedSize: number): number {
  const raw = header(req, "content-length");
  if (raw === undefined) throw new HttpError(411, "MissingContentLength", "a content-length header is required");
  const length = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(length)) throw new HttpError(400, "InvalidArgument", "invalid content-length");
  if (length > signedSize) throw new HttpError(400, "EntityTooLarge", `the body has ${length} bytes; the URL allows ${signedSize}`);
  return length;
}

/**
 * Streams exactly `length` bytes of the body into a new file (after `prefix`); returns their MD5
 * hex. With `sha256` (base64, as in S3's checksum header), the body must have that digest.
 */
async function receive(req: Request, path: string, length: number, prefix: Buffer | null, sha256 = ""): Promise<string> {
  const md5 = createHash("md5");
  const digest = sha256 ? createHash("sha256") : null;
  let received = 0;
  const out = createWriteStream(path, { flags: "wx" });
  if (prefix) out.write(prefix);
  await pipeline(
    req as Readable,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        received += chunk.length;
        if (received > length) throw new HttpError(400, "IncompleteBody", "the body is longer than its content-length");
        md5.update(chunk);
        digest?.update(chunk);
        yield chunk;
      }
    },
    out,
  );
  if (received !== length) throw new HttpError(400, "IncompleteBody", `the body has ${received} bytes; content-length said ${length}`);
  if (digest && digest.digest("base64") !== sha256)
    throw new HttpError(400, "BadDigest", "the body's SHA-256 does not match the signed one");
  return md5.digest("hex");
}

async function write(out: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, "drain");
}

function sendError(res: Reply, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
