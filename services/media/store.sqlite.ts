// MediaStore on the embedded SQLite database.
import type { EncodedEvent } from "../platform/events.js";
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import { type MediaRecord, type MediaStore, PENDING_UPLOAD, READY, type StoredState, type VariantRecord } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE media_objects (
     media_id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, kind INTEGER NOT NULL, content_type TEXT NOT NULL,
     size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, state INTEGER NOT NULL, object_key TEXT NOT NULL,
     upload_id TEXT NOT NULL, part_bytes INTEGER NOT NULL, variants TEXT NOT NULL,
     create_time INTEGER NOT NULL, complete_time INTEGER NOT NULL);`,
];

const COLUMNS =
  "media_id, owner_id, kind, content_type, size_bytes, sha256, state, object_key, upload_id, part_bytes, variants, create_time, complete_time";

function toMedia(r: Row): MediaRecord {
  return {
    mediaId: col.id(r.media_id),
    ownerId: col.id(r.owner_id),
    kind: col.num(r.kind),
    contentType: col.str(r.content_type),
    sizeBytes: col.num(r.size_bytes),
    sha256: col.str(r.sha256),
    state: col.num(r.state) as StoredState,
    objectKey: col.str(r.object_key),
    uploadId: col.str(r.upload_id),
    partBytes: col.num(r.part_bytes),
    variants: JSON.parse(col.str(r.variants)) as VariantRecord[],
    createTime: col.num(r.create_time),
    completeTime: col.num(r.complete_time),
  };
}

export class SqliteMediaStore implements MediaStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("media", MIGRATIONS);
  }

  async create(m: MediaRecord): Promise<void> {
    this.db.run(
      `INSERT INTO media_objects (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      BigInt(m.mediaId),
      BigInt(m.ownerId),
      m.kind,
      m.contentType,
      m.sizeBytes,
      m.sha256,
      m.state,
      m.objectKey,
      m.uploadId,
      m.partBytes,
      JSON.stringify(m.variants),
      m.createTime,
      m.completeTime,
    );
  }

  async get(mediaId: string): Promise<MediaRecord | undefined> {
    const r = this.db.get(`SELECT ${COLUMNS} FROM media_objects WHERE media_id = ?`, BigInt(mediaId));
    return r && toMedia(r);
  }

  async getMany(mediaIds: string[]): Promise<MediaRecord[]> {
    if (mediaIds.length === 0) return [];
    return this.db.all(`SELECT ${COLUMNS} FROM media_objects WHERE media_id IN ${ID_LIST}`, JSON.stringify(mediaIds)).map(toMedia);
  }

  async markReady(mediaId: string, variants: VariantRecord[], completeTime: number, events: EncodedEvent[]): Promise<boolean> {
    return this.db.tx(() => {
      const changed = this.db.run(
        "UPDATE media_objects SET state = ?, variants = ?, complete_time = ? WHERE media_id = ? AND state = ?",
        READY,
        JSON.stringify(variants),
        completeTime,
        BigInt(mediaId),
        PENDING_UPLOAD,
      ).changes;
      if (changed !== 1) return false;
      for (const e of events) this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
      return true;
    });
  }
}
