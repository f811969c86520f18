// PostService handlers: proto in, domain call, proto out.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { MediaState } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { type Post, PostSchema, type PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import type { FeedModelWrites } from "../feed/readmodel.safe.js";
import { actingUser, viewer } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import { invalidField } from "../platform/errors.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { Posts, Reader } from "./post.js";
import type { MediaRefRecord, PostRecord } from "./store.js";

export function toPost(p: PostRecord): Post {
  return create(PostSchema, {
    postId: p.postId,
    authorId: p.authorId,
    caption: p.caption,
    hashtags: p.hashtags,
    mentions: p.mentions,
    media: p.media,
    createTime: timestampFromMs(p.createTime),
    ...(p.updateTime ? { updateTime: timestampFromMs(p.updateTime) } : {}),
  });
}

export function postRoutes(
  posts: Posts,
  clients: Clients,
  auth: CallAuth,
  tokens: PageTokens,
  model: FeedModelWrites,
): ServiceImpl<typeof PostService> {
  /** The home feed's read model gets the post's body before the call returns (docs/feed.md). */
  async function stored(p: PostRecord): Promise<Post> {
    const post = toPost(p);
    if (!p.deleted) await model.write.putPosts([{ id: post.postId, bytes: toBinary(PostSchema, post) }], true);
    return post;
  }

  /** The reader of this call; follow checks go to the graph service as that user, memoized. */
  function reader(ctx: HandlerContext): Reader {
    const userId = viewer(ctx);
    const memo = new Map<string, Promise<boolean>>();
    return {
      userId,
      follows(authorId) {
        let answer = memo.get(authorId);
        if (!answer) {
          answer = clients.graph
            .getRelationship({ userId: authorId }, auth.asUser(ctx))
            .then((r) => r.relationship?.outgoing === FollowState.FOLLOWING);
          memo.set(authorId, answer);
        }
        return answer;
      },
    };
  }

  /** Media must be the author's uploads that passed verification. */
  async function resolveMedia(ctx: HandlerContext, me: string, mediaIds: string[]): Promise<MediaRefRecord[]> {
    const { media } = await clients.media.batchGetMedia({ mediaIds }, auth.asUser(ctx));
    const found = new Map(media.map((m) => [m.mediaId, m]));
    return mediaIds.map((id, i) => {
      const m = found.get(id);
      if (!m || m.ownerId !== me || (m.state !== MediaState.PROCESSING && m.state !== MediaState.READY)) {
        throw invalidField(`media_ids[${i}]`, "must be a completed upload of yours");
      }
      return { mediaId: m.mediaId, kind: m.kind, contentType: m.contentType };
    });
  }

  return {
    async createPost(req, ctx) {
      const me = actingUser(ctx);
      const post = await posts.create(me, req, (mediaIds) => resolveMedia(ctx, me, mediaIds));
      return { post: await stored(post) };
    },
    async getPost(req, ctx) {
      return { post: toPost(await posts.get(reader(ctx), req.postId)) };
    },
    async batchGetPosts(req, ctx) {
      return { posts: (await posts.getMany(reader(ctx), req.postIds)).map(toPost) };
    },
    async listUserPosts(req, ctx) {
      const scope = `post.user:${req.userId}`;
      const limit = pageSize(req.pageSize, 20);
      const cursor = tokens.decode<{ p: string }>(scope, req.pageToken);
      const before = cursor?.p ?? (req.beforePostId || null);
      const list = await posts.listByAuthor(reader(ctx), req.userId, limit + 1, before);
      const page = list.slice(0, limit);
      const last = page.at(-1);
      return { posts: page.map(toPost), nextPageToken: list.length > limit && last ? tokens.encode(scope, { p: last.postId }) : "" };
    },
    async listPostsByAuthors(req, ctx) {
      const list = await posts.listByAuthors(reader(ctx), req.userIds, pageSize(req.pageSize, 20), req.beforePostId || null);
      return { posts: list.map(toPost) };
    },
    async editPost(req, ctx) {
      return { post: await stored(await posts.edit(actingUser(ctx), req.postId, req.caption)) };
    },
    async deletePost(req, ctx) {
      await posts.delete(actingUser(ctx), req.postId);
      await model.required.deletePost(req.postId); // no page shows it once this returns
      return {};
    },
  };
}
