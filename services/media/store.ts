// The media service's storage port: one record per media object (who uploaded it, what it is,
// where its bytes are, where it stands). Adapters: store.sqlite.ts (embedded) and
// store.cassandra.ts (Cassandra/ScyllaDB).
import type { EncodedEvent } from "../platform/events.js";

/** The values of feedmesh.media.v1.MediaState the store keeps. */
export const PENDING_UPLOAD = 1;
export const READY = 3;
export type StoredState = typeof PENDING_UPLOAD | typeof READY;

/** One rendition of a media object, stored under its own object key. */
export interface VariantRecord {
  name: string;
  objectKey: string;
  contentType: string;
  width: number;
  height: number;
}

export interface MediaRecord {
  mediaId: string;
  ownerId: string;
  /** feedmesh.post.v1.MediaKind: 1 photo, 2 video. */
  kind: number;
  contentType: string;
  /** The declared (and, once ready, verified) size of the original. */
  sizeBytes: number;
  /** The declared SHA-256 (lowercase hex) or "". */
  sha256: string;
  state: StoredState;
  /** The object key of the original. */
  objectKey: string;
  /** The multipart upload id, "" for a single-request upload. */
  uploadId: string;
  /** The size of every part but the last, 0 for a single-request upload. */
  partBytes: number;
  /** Empty until the media is ready. */
  variants: VariantRecord[];
  createTime: number;
  /** When the upload was completed, 0 before. */
  completeTime: number;
}

export interface MediaStore {
  /** Stores a new (pending) media record. */
  create(media: MediaRecord): Promise<void>;
  get(mediaId: string): Promise<MediaRecord | undefined>;
  /** The records among these ids (decimal strings), in no particular order. */
  getMany(mediaIds: string[]): Promise<MediaRecord[]>;
  /**
   * Marks pending media ready with its variants and writes the events in the same atomic write.
   * Returns false, writing nothing, when the media is not pending (already completed) or unknown.
   * Two completions racing may both write their events (at least once); a later one never does.
   */
  markReady(mediaId: string, variants: VariantRecord[], completeTime: number, events: EncodedEvent[]): Promise<boolean>;
}
