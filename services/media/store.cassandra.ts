// MediaStore on Cassandra/ScyllaDB: one partition per media object, read by id (GetMedia,
// BatchGetMedia as parallel single-partition reads). Completion writes the new state and its
// events in one logged batch, so an acknowledged completion always has its events; it is not a
// lightweight transaction (those cannot share a batch with the outbox), so two completions racing
// may both publish (consumers are idempotent), while a later one sees the state and publishes
// nothing.
import type { CassandraDb, Row } from "../platform/cassandra.js";
import type { EncodedEvent } from "../platform/events.js";
import { type MediaRecord, type MediaStore, PENDING_UPLOAD, READY, type StoredState, type VariantRecord } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS media_objects (
     media_id bigint PRIMARY KEY, owner_id bigint, kind int, content_type text, size_bytes bigint, sha256 text,
     state int, object_key text, upload_id text, part_bytes bigint, variants text,
     create_time timestamp, complete_time timestamp)`,
];

const COLUMNS =
  "media_id, owner_id, kind, content_type, size_bytes, sha256, state, object_key, upload_id, part_bytes, variants, create_time, complete_time";

function toMedia(r: Row): MediaRecord {
  return {
    mediaId: r.media_id.toString(),
    ownerId: r.owner_id.toString(),
    kind: r.kind ?? 0,
    contentType: r.content_type ?? "",
    sizeBytes: Number(r.size_bytes ?? 0),
    sha256: r.sha256 ?? "",
    state: (r.state ?? PENDING_UPLOAD) as StoredState,
    objectKey: r.object_key ?? "",
    uploadId: r.upload_id ?? "",
    partBytes: Number(r.part_bytes ?? 0),
    variants: JSON.parse(r.variants ?? "[]") as VariantRecord[],
    createTime: r.create_time.getTime(),
    completeTime: r.complete_time ? r.complete_time.getTime() : 0,
  };
}

export class CassandraMediaStore implements MediaStore {
  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraMediaStore> {
    await db.migrate("media", MIGRATIONS);
    return new CassandraMediaStore(db);
  }

  async create(m: MediaRecord): Promise<void> {
    await this.db.execute(`INSERT INTO media_objects (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      BigInt(m.mediaId),
      BigInt(m.ownerId),
      m.kind,
      m.contentType,
      BigInt(m.sizeBytes),
      m.sha256,
      m.state,
      m.objectKey,
      m.uploadId,
      BigInt(m.partBytes),
      JSON.stringify(m.variants),
      new Date(m.createTime),
      m.completeTime ? new Date(m.completeTime) : null,
    ]);
  }

  async get(mediaId: string): Promise<MediaRecord | undefined> {
    const r = (await this.db.execute(`SELECT ${COLUMNS} FROM media_objects WHERE media_id = ?`, [BigInt(mediaId)])).first();
    return r ? toMedia(r) : undefined;
  }

  async getMany(mediaIds: string[]): Promise<MediaRecord[]> {
    const found = await Promise.all(mediaIds.map((id) => this.get(id)));
    return found.filter((m): m is MediaRecord => m !== undefined);
  }

  async markReady(mediaId: string, variants: VariantRecord[], completeTime: number, events: EncodedEvent[]): Promise<boolean> {
    const current = await this.get(mediaId);
    if (current?.state !== PENDING_UPLOAD) return false;
    await this.db.batch([
      {
        query: "UPDATE media_objects SET state = ?, variants = ?, complete_time = ? WHERE media_id = ?",
        params: [READY, JSON.stringify(variants), new Date(completeTime), BigInt(mediaId)],
      },
      ...events.map((e) => this.db.outbox("media", e)),
    ]);
    return true;
  }
}
