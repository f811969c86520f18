// EngagementStore on Cassandra/ScyllaDB. Likes and comments, and their exact counts, live in the
// tally (tally.cassandra.ts: one conditional update per change, no counter columns). The rest of a
// change, its follow-up, is one logged batch: the likers list row, the event in the outbox and
// the mark that the change is published; a failed follow-up is written by the next request that
// finds the change unpublished (the client's retry). ListLikers checks its list against the tally,
// so an unlike whose follow-up never ran is not listed.
import type { CassandraDb, Statement } from "../platform/cassandra.js";
import type { EncodedEvent } from "../platform/events.js";
import { idTime } from "../platform/ids.js";
import type { CommentPage, CommentRecord, Counts, EngagementStore, Liker, LikerCursor, LikerPage, PostCounts } from "./store.js";
import { COMMENT, type Kind, LIKE, TALLY_TABLE, Tally, type TallyRow } from "./tally.cassandra.js";

const MIGRATIONS = [
  `${TALLY_TABLE};
   CREATE TABLE IF NOT EXISTS engagement_likers (
     post_id bigint, at timestamp, user_id bigint, PRIMARY KEY (post_id, at, user_id)) WITH CLUSTERING ORDER BY (at DESC, user_id DESC);
   CREATE TABLE IF NOT EXISTS engagement_comment_requests (
     post_id bigint, author_id bigint, request_id text, comment_id bigint, PRIMARY KEY ((post_id, author_id, request_id)))`,
];

/** How long a request id protects against a duplicate comment (clients retry within minutes). */
const REQUEST_TTL_SECONDS = 7 * 86400;
const MAX_ID = 9223372036854775807n;

function toComment(postId: string, commentId: string, row: TallyRow): CommentRecord {
  return {
    commentId,
    postId,
    authorId: row.authorId ?? "",
    text: row.present ? (row.text ?? "") : "",
    createTime: row.at?.getTime() ?? idTime(commentId),
    deleted: row.present !== true,
  };
}

export class CassandraEngagementStore implements EngagementStore {
  private readonly tally: Tally;

  private constructor(private readonly db: CassandraDb) {
    this.tally = new Tally(db);
  }

  static async open(db: CassandraDb): Promise<CassandraEngagementStore> {
    await db.migrate("engagement", MIGRATIONS);
    return new CassandraEngagementStore(db);
  }

  async like(postId: string, userId: string, now: number, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    const flip = await this.tally.flip(postId, LIKE, userId, true, () => true, { at: new Date(now) });
    const { row } = flip;
    return this.publish(postId, LIKE, userId, flip, (counts) => [
      { query: "INSERT INTO engagement_likers (post_id, at, user_id) VALUES (?, ?, ?)", params: [BigInt(postId), row.at, BigInt(userId)] },
      this.db.outbox("engagement", event(counts.likes)),
    ]);
  }

  async unlike(postId: string, userId: string, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    const flip = await this.tally.flip(postId, LIKE, userId, false, (present) => present === true);
    const { row } = flip;
    return this.publish(postId, LIKE, userId, flip, (counts) => [
      {
        query: "DELETE FROM engagement_likers WHERE post_id = ? AND at = ? AND user_id = ?",
        params: [BigInt(postId), row.at, BigInt(userId)],
      },
      this.db.outbox("engagement", event(counts.likes)),
    ]);
  }

  async likers(postId: string, limit: number, after: LikerCursor | null): Promise<LikerPage> {
    const out: Liker[] = [];
    let cursor = after;
    for (;;) {
      const want = Math.max(limit + 1 - out.length, 20);
      const listed = (
        await this.db.execute("SELECT at, user_id FROM engagement_likers WHERE post_id = ? AND (at, user_id) < (?, ?) LIMIT ?", [
          BigInt(postId),
          new Date(cursor?.t ?? 8.64e15),
          cursor ? BigInt(cursor.id) : MAX_ID,
          want,
        ])
      ).rows.map((r) => ({ userId: r.user_id.toString(), createTime: r.at.getTime() as number }));
      // The list is an index: keep only the entries the tally confirms (same like, still present).
      const live = await this.tally.presentRows(
        postId,
        LIKE,
        listed.map((l) => l.userId),
      );
      out.push(...listed.filter((l) => live.get(l.userId)?.at?.getTime() === l.createTime));
      const last = listed.at(-1);
      if (out.length > limit || listed.length < want || !last) break;
      cursor = { t: last.createTime, id: last.userId };
    }
    const likers = out.slice(0, limit);
    const last = likers.at(-1);
    return { likers, next: out.length > limit && last ? { t: last.createTime, id: last.userId } : null };
  }

  async addComment(c: CommentRecord, requestId: string, event: (comment: CommentRecord) => EncodedEvent): Promise<CommentRecord> {
    let commentId = c.commentId;
    if (requestId !== "") {
      const claim = await this.db.execute(
        "INSERT INTO engagement_comment_requests (post_id, author_id, request_id, comment_id) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
        [BigInt(c.postId), BigInt(c.authorId), requestId, BigInt(commentId), REQUEST_TTL_SECONDS],
      );
      // The request was seen: go on with its comment (written, or to be completed now).
      if (!claim.wasApplied()) commentId = claim.first()!.comment_id.toString();
    }
    const flip = await this.tally.flip(c.postId, COMMENT, commentId, true, (present) => present === null, {
      at: new Date(commentId === c.commentId ? c.createTime : idTime(commentId)),
      authorId: c.authorId,
      text: c.text,
    });
    const comment = toComment(c.postId, commentId, flip.row);
    if (!comment.deleted) await this.publish(c.postId, COMMENT, commentId, flip, () => [this.db.outbox("engagement", event(comment))]);
    return comment;
  }

  async comment(postId: string, commentId: string): Promise<CommentRecord | undefined> {
    const row = await this.tally.row(postId, COMMENT, commentId);
    return row.present === null ? undefined : toComment(postId, commentId, row);
  }

  async deleteComment(postId: string, commentId: string, event: EncodedEvent): Promise<void> {
    const flip = await this.tally.flip(postId, COMMENT, commentId, false, (present) => present === true, { text: null });
    if (flip.row.present === false) await this.publish(postId, COMMENT, commentId, flip, () => [this.db.outbox("engagement", event)]);
  }

  async comments(postId: string, limit: number, after: string | null): Promise<CommentPage> {
    const rows = await this.tally.listPresent(postId, COMMENT, after, limit + 1);
    const comments = rows.slice(0, limit).map((r) => toComment(postId, r.item, r));
    return { comments, next: rows.length > limit ? (comments.at(-1)?.commentId ?? null) : null };
  }

  async counts(postIds: string[], userId: string | null): Promise<PostCounts[]> {
    const [counts, liked] = await Promise.all([
      this.tally.countsOf(postIds),
      userId === null ? new Set<string>() : this.likedBy(postIds, userId),
    ]);
    return postIds.map((postId) => ({ postId, ...counts.get(postId)!, liked: liked.has(postId) }));
  }

  likedBy(postIds: string[], userId: string): Promise<Set<string>> {
    return this.tally.presentIn(postIds, LIKE, userId);
  }

  async dropPost(postId: string): Promise<void> {
    await Promise.all([this.tally.drop(postId), this.db.execute("DELETE FROM engagement_likers WHERE post_id = ?", [BigInt(postId)])]);
  }

  /**
   * Writes the follow-up of the row's current state unless it was written, or a concurrent
   * request made the change (and writes it); returns the post's counts.
   */
  private async publish(
    postId: string,
    kind: Kind,
    item: string,
    { row, changed, lost }: { row: TallyRow; changed: boolean; lost: boolean },
    followUp: (counts: Counts) => Statement[],
  ): Promise<Counts> {
    const counts = await this.tally.counts(postId);
    if (this.tally.unpublished(row) && (changed || !lost)) {
      await this.db.batch([...followUp(counts), this.tally.markPublished(postId, kind, item, row.version!)]);
    }
    return counts;
  }
}
