// The media domain: reserving an upload (a media id, an object key under the owner's prefix and
// pre-signed URLs bound to it), verifying the uploaded object before the media becomes usable,
// and handing out short-lived download URLs to those who may see it. Bytes never pass through
// here: clients PUT and GET against the blob store.
import { MediaKind } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { failedPrecondition, invalidField, notFound, permissionDenied } from "../platform/errors.js";
import { encodeEvent } from "../platform/events.js";
import { ids } from "../platform/ids.js";
import type { BlobStore, CompletedPart } from "./blob.js";
import { type MediaRecord, type MediaStore, PENDING_UPLOAD, READY, type VariantRecord } from "./store.js";

/** What may be uploaded, and as what kind. */
export const CONTENT_TYPES: Readonly<Record<string, MediaKind>> = {
  "image/jpeg": MediaKind.PHOTO,
  "image/png": MediaKind.PHOTO,
  "image/webp": MediaKind.PHOTO,
  "image/heic": MediaKind.PHOTO,
  "video/mp4": MediaKind.VIDEO,
  "video/quicktime": MediaKind.VIDEO,
};
export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 4 * 1024 * 1024 * 1024;
/** Videos larger than this are uploaded in parts of this size (S3 needs at least 5 MiB a part). */
export const PART_BYTES = 16 * 1024 * 1024;

export interface MediaOptions {
  uploadTtlSeconds: number;
  downloadTtlSeconds: number;
}

export interface UploadInput {
  contentType: string;
  sizeBytes: number;
  sha256: string;
}

/** Where and how to upload: one URL (with headers to send), or the parts of a multipart upload. */
export interface UploadTicket {
  media: MediaRecord;
  url: string;
  headers: Record<string, string>;
  parts: { partNumber: number; url: string; sizeBytes: number }[];
  expireTime: number;
}

/** A variant with its download URL. */
export interface VariantView extends VariantRecord {
  url: string;
}

/**
 * Who reads: a user id, or null for a service. `visibleOwners` says which of these other users'
 * media the reader may see (public accounts, and private ones it follows).
 */
export interface Viewer {
  userId: string | null;
  visibleOwners(ownerIds: string[]): Promise<Set<string>>;
}

const MAX_ID = 9223372036854775807n;

/** Whether a string can be a media id (a positive 64-bit decimal). */
export function isMediaId(id: string): boolean {
  return /^[0-9]{1,19}$/.test(id) && BigInt(id) > 0n && BigInt(id) <= MAX_ID;
}

export function objectKey(ownerId: string, mediaId: string, variant = "original"): string {
  return `media/${ownerId}/${mediaId}/${variant}`;
}

export class Media {
  constructor(
    private readonly store: MediaStore,
    /** The blob store, resolved on use (the embedded one knows its URL only once the server listens). */
    private readonly blobs: () => BlobStore,
    private readonly options: MediaOptions,
  ) {}

  async createUpload(ownerId: string, input: UploadInput): Promise<UploadTicket> {
    const kind = CONTENT_TYPES[input.contentType];
    if (kind === undefined) throw invalidField("content_type", `must be one of ${Object.keys(CONTENT_TYPES).join(", ")}`);
    const max = kind === MediaKind.PHOTO ? MAX_PHOTO_BYTES : MAX_VIDEO_BYTES;
    if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 1 || input.sizeBytes > max) {
      throw invalidField("size_bytes", `must be from 1 to ${max} bytes for a ${kind === MediaKind.PHOTO ? "photo" : "video"}`);
    }
    const multipart = input.sizeBytes > PART_BYTES;
    if (multipart && input.sha256 !== "") {
      // S3 cannot check one SHA-256 over a multipart upload; the parts' ETags verify it instead.
      throw invalidField("sha256", `is verified only for uploads of at most ${PART_BYTES} bytes; leave it empty for a multipart upload`);
    }
    const now = Date.now();
    const mediaId = ids.next(now);
    const key = objectKey(ownerId, mediaId);
    const ttl = this.options.uploadTtlSeconds;
    const blobs = this.blobs();
    const ticket: UploadTicket = {
      media: {
        mediaId,
        ownerId,
        kind,
        contentType: input.contentType,
        sizeBytes: input.sizeBytes,
        sha256: input.sha256,
        state: PENDING_UPLOAD,
        objectKey: key,
        uploadId: "",
        partBytes: 0,
        variants: [],
        createTime: now,
        completeTime: 0,
      },
      url: "",
      headers: {},
      parts: [],
      // Both stores count the expiry from the whole second the URL was made in.
      expireTime: Math.floor(now / 1000) * 1000 + ttl * 1000,
    };
    if (!multipart) {
      const put = await blobs.presignPut(key, {
        contentType: input.contentType,
        sizeBytes: input.sizeBytes,
        expiresSeconds: ttl,
        ...(input.sha256 ? { sha256: input.sha256 } : {}),
      });
      ticket.url = put.url;
      ticket.headers = put.headers;
    } else {
      ticket.media.uploadId = await blobs.createMultipart(key, input.contentType);
      ticket.media.partBytes = PART_BYTES;
      for (let n = 1; n <= partCount(ticket.media); n++) {
        const size = Math.min(PART_BYTES, input.sizeBytes - (n - 1) * PART_BYTES);
        ticket.parts.push({ partNumber: n, sizeBytes: size, url: await blobs.presignPart(key, ticket.media.uploadId, n, ttl, size) });
      }
    }
    await this.store.create(ticket.media);
    return ticket;
  }

  /**
   * Verifies the uploaded object (it exists, with the declared size and content type; a
   * multipart upload is first joined from the parts' receipts) and makes the media ready,
   * publishing MediaUploaded. Completing ready media again returns it unchanged. Someone else's
   * media is PERMISSION_DENIED if the caller may see it, else NOT_FOUND (as for GetMedia).
   */
  async complete(caller: Viewer & { userId: string }, mediaId: string, parts: CompletedPart[]): Promise<MediaRecord> {
    if (!isMediaId(mediaId)) throw invalidField("media_id", "must be a media id returned by CreateUpload");
    const ownerId = caller.userId;
    const media = await this.store.get(mediaId);
    if (!media) throw notFound(`media ${mediaId}`);
    if (media.ownerId !== ownerId) {
      if ((await this.getMany(caller, [mediaId])).length === 0) throw notFound(`media ${mediaId}`);
      throw permissionDenied("only the uploader can complete an upload");
    }
    if (media.state === READY) return media;
    const blobs = this.blobs();
    let head = await blobs.head(media.objectKey);
    if (media.uploadId === "") {
      if (parts.length > 0) throw invalidField("parts", "must be empty for a single-request upload");
      if (!head) throw failedPrecondition(`media ${mediaId} has not been uploaded yet: PUT it to the upload URL first`);
    } else if (!head) {
      const n = partCount(media);
      if (parts.length !== n || parts.some((p, i) => p.partNumber !== i + 1)) {
        throw invalidField("parts", `must list the receipts of parts 1 to ${n}, in order`);
      }
      await blobs.completeMultipart(media.objectKey, media.uploadId, parts);
      head = await blobs.head(media.objectKey);
      if (!head) throw failedPrecondition(`media ${mediaId}: the joined object is missing`);
    }
    if (head.sizeBytes !== media.sizeBytes) {
      throw failedPrecondition(`media ${mediaId}: the uploaded object has ${head.sizeBytes} bytes, the upload declared ${media.sizeBytes}`);
    }
    if (head.contentType !== media.contentType) {
      throw failedPrecondition(`media ${mediaId}: the uploaded object is ${head.contentType}, the upload declared ${media.contentType}`);
    }
    // No processing yet: the original is the only variant, so the media is ready at once.
    const variants: VariantRecord[] = [
      { name: "original", objectKey: media.objectKey, contentType: media.contentType, width: 0, height: 0 },
    ];
    const now = Date.now();
    const events = [
      encodeEvent("media", mediaId, {
        event: {
          case: "uploaded",
          value: {
            mediaId,
            ownerId,
            objectKey: media.objectKey,
            contentType: media.contentType,
            sizeBytes: BigInt(media.sizeBytes),
          },
        },
      }),
      encodeEvent("media", mediaId, { event: { case: "processed", value: { mediaId, ok: true, variants: variants.map((v) => v.name) } } }),
    ];
    await this.store.markReady(mediaId, variants, now, events); // false: a concurrent completion won
    return (await this.store.get(mediaId))!;
  }

  /** One media object the viewer may see: the owner sees it in any state, others once ready. */
  async get(viewer: Viewer, mediaId: string): Promise<MediaRecord> {
    if (!isMediaId(mediaId)) throw invalidField("media_id", "must be a media id");
    const [media] = await this.getMany(viewer, [mediaId]);
    if (!media) throw notFound(`media ${mediaId}`); // hidden media is indistinguishable from missing media
    return media;
  }

  /** The media among these ids that the viewer may see, in the order asked; others are left out. */
  async getMany(viewer: Viewer, mediaIds: string[]): Promise<MediaRecord[]> {
    const wanted = [...new Set(mediaIds)].filter(isMediaId);
    const found = (await this.store.getMany(wanted)).filter((m) => m.ownerId === viewer.userId || m.state === READY);
    const others = [...new Set(found.map((m) => m.ownerId))].filter((o) => o !== viewer.userId);
    const visible = viewer.userId === null ? new Set(others) : await viewer.visibleOwners(others);
    const byId = new Map(found.filter((m) => m.ownerId === viewer.userId || visible.has(m.ownerId)).map((m) => [m.mediaId, m]));
    return wanted.flatMap((id) => byId.get(id) ?? []);
  }

  /** The variants with download URLs that work for the configured time. */
  async variants(media: MediaRecord): Promise<VariantView[]> {
    const blobs = this.blobs();
    return Promise.all(
      media.variants.map(async (v) => ({ ...v, url: await blobs.presignGet(v.objectKey, this.options.downloadTtlSeconds) })),
    );
  }
}

function partCount(media: MediaRecord): number {
  return Math.ceil(media.sizeBytes / (media.partBytes || PART_BYTES));
}
