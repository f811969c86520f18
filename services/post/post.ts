// The post domain: creating, reading, editing and deleting posts, and who may see them.

import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { invalidField, notFound, permissionDenied } from "../platform/errors.js";
import { encodeEvent } from "../platform/events.js";
import { compareIds, ids } from "../platform/ids.js";
import { inParallel } from "../platform/parallel.js";
import { hashtags, mentions } from "./caption.js";
import type { MediaRefRecord, PostRecord, PostStore } from "./store.js";

/**
 * Who reads: a user id, or null for a service. `follows(author)` says whether the reading user
 * is an approved follower of the author (asked of the graph service only for private authors).
 */
export interface Reader {
  userId: string | null;
  follows(authorId: string): Promise<boolean>;
}

/** How many authors' timelines one ListPostsByAuthors reads at once. */
const TIMELINES_IN_FLIGHT = 32;

export interface CreateInput {
  requestId: string;
  caption: string;
  mediaIds: string[];
}

export class Posts {
  constructor(private readonly store: PostStore) {}

  /** resolveMedia checks that the media are the author's completed uploads. */
  async create(authorId: string, input: CreateInput, resolveMedia: (ids: string[]) => Promise<MediaRefRecord[]>): Promise<PostRecord> {
    const caption = input.caption.trim();
    if (caption === "" && input.mediaIds.length === 0) throw invalidField("caption", "must not be empty when the post has no media");
    const media = input.mediaIds.length > 0 ? await resolveMedia(input.mediaIds) : [];
    const now = Date.now();
    const post: PostRecord = {
      postId: ids.next(now),
      authorId,
      caption,
      hashtags: hashtags(caption),
      mentions: mentions(caption),
      media,
      createTime: now,
      updateTime: 0,
      deleted: false,
    };
    const event = encodeEvent("posts", authorId, {
      event: {
        case: "created",
        value: {
          postId: post.postId,
          authorId,
          createTime: timestampFromMs(now),
          hashtags: post.hashtags,
          mentions: post.mentions,
          caption,
        },
      },
    });
    return this.store.create(post, input.requestId, event);
  }

  async get(reader: Reader, postId: string): Promise<PostRecord> {
    const post = await this.store.get(postId);
    if (!post || post.deleted || !(await this.visibleAuthors(reader, [post.authorId])).has(post.authorId)) {
      throw notFound(`post ${postId}`); // a hidden post is indistinguishable from a missing one
    }
    return post;
  }

  /** The live posts visible to the reader, in the order asked. */
  async getMany(reader: Reader, postIds: string[]): Promise<PostRecord[]> {
    const posts = await this.store.getMany([...new Set(postIds)]);
    const visible = await this.visibleAuthors(
      reader,
      posts.map((p) => p.authorId),
    );
    const byId = new Map(posts.filter((p) => visible.has(p.authorId)).map((p) => [p.postId, p]));
    return [...new Set(postIds)].flatMap((id) => byId.get(id) ?? []);
  }

  async listByAuthor(reader: Reader, authorId: string, limit: number, before: string | null): Promise<PostRecord[]> {
    if (!(await this.visibleAuthors(reader, [authorId])).has(authorId)) throw permissionDenied(`the account ${authorId} is private`);
    return this.store.listByAuthor(authorId, limit, before);
  }

  /**
   * The newest posts of several authors older than `before`, merged newest first, `limit` in
   * all; authors hidden from the reader are left out. Each timeline is read for `limit` posts.
   */
  async listByAuthors(reader: Reader, authorIds: string[], limit: number, before: string | null): Promise<PostRecord[]> {
    const visible = [...(await this.visibleAuthors(reader, authorIds))];
    const lists: PostRecord[][] = [];
    await inParallel(visible, TIMELINES_IN_FLIGHT, async (a) => {
      lists.push(await this.store.listByAuthor(a, limit, before));
    });
    return lists
      .flat()
      .sort((x, y) => compareIds(y.postId, x.postId))
      .slice(0, limit);
  }

  async edit(me: string, postId: string, caption: string): Promise<PostRecord> {
    const post = await this.owned(me, postId);
    const text = caption.trim();
    if (text === "" && post.media.length === 0) throw invalidField("caption", "must not be empty when the post has no media");
    const tags = hashtags(text);
    const event = encodeEvent("posts", me, { event: { case: "edited", value: { postId, authorId: me, caption: text, hashtags: tags } } });
    await this.store.update(postId, text, tags, mentions(text), Date.now(), event);
    return (await this.store.get(postId))!;
  }

  async delete(me: string, postId: string): Promise<void> {
    const post = await this.store.get(postId);
    if (!post) throw notFound(`post ${postId}`);
    if (post.authorId !== me) throw permissionDenied("only the author can delete a post");
    const event = encodeEvent("posts", me, {
      event: { case: "deleted", value: { postId, authorId: me, createTime: timestampFromMs(post.createTime) } },
    });
    await this.store.markDeleted(postId, event); // idempotent: a second delete appends nothing
  }

  setAuthorPrivate(userId: string, isPrivate: boolean): Promise<void> {
    return this.store.setAuthorPrivate(userId, isPrivate);
  }

  private async owned(me: string, postId: string): Promise<PostRecord> {
    const post = await this.store.get(postId);
    if (!post || post.deleted) throw notFound(`post ${postId}`);
    if (post.authorId !== me) throw permissionDenied("only the author can change a post");
    return post;
  }

  /** The authors among these whose posts the reader may see. */
  private async visibleAuthors(reader: Reader, authorIds: string[]): Promise<Set<string>> {
    const all = new Set(authorIds);
    if (reader.userId === null) return all;
    const hidden = await this.store.privateAuthors([...all].filter((a) => a !== reader.userId));
    for (const author of hidden) {
      if (!(await reader.follows(author))) all.delete(author);
    }
    return all;
  }
}
