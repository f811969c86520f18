// EngagementService handlers: proto in, domain call, proto out.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type Comment,
  CommentSchema,
  type EngagementService,
  type PostCounters,
  PostCountersSchema,
} from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import type { FeedModelWrites } from "../feed/readmodel.safe.js";
import { actingUser, viewer } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { Engagement, VisiblePosts } from "./engagement.js";
import type { CommentRecord, PostCounts } from "./store.js";

function toCounters(c: PostCounts): PostCounters {
  return create(PostCountersSchema, {
    postId: c.postId,
    likeCount: BigInt(c.likes),
    commentCount: BigInt(c.comments),
    likedByCaller: c.liked,
  });
}

function toComment(c: CommentRecord): Comment {
  return create(CommentSchema, {
    commentId: c.commentId,
    postId: c.postId,
    authorId: c.authorId,
    text: c.text,
    createTime: timestampFromMs(c.createTime),
  });
}

export function engagementRoutes(
  engagement: Engagement,
  clients: Clients,
  auth: CallAuth,
  tokens: PageTokens,
  model: FeedModelWrites,
): ServiceImpl<typeof EngagementService> {
  /** The home feed's read model gets the post's new counts and the caller's like before the call returns. */
  async function changed(me: string, c: PostCounts): Promise<PostCounts> {
    await Promise.all([
      model.write.putCounts([{ postId: c.postId, counts: { likes: c.likes, comments: c.comments } }], true),
      model.write.putLiked(me, [{ postId: c.postId, liked: c.liked }], false),
    ]);
    return c;
  }

  /** The posts as the caller of this call sees them: the post service applies their visibility. */
  function postsFor(ctx: HandlerContext): VisiblePosts {
    return {
      async get(postId) {
        const { post } = await clients.post.getPost({ postId }, auth.asUser(ctx));
        return { postId, authorId: post?.authorId ?? "" };
      },
      async visible(postIds) {
        const { posts } = await clients.post.batchGetPosts({ postIds: [...new Set(postIds)] }, auth.asUser(ctx));
        return new Set(posts.map((p) => p.postId));
      },
    };
  }

  return {
    async like(req, ctx) {
      const me = actingUser(ctx);
      return { counters: toCounters(await changed(me, await engagement.like(me, req.postId, postsFor(ctx)))) };
    },
    async unlike(req, ctx) {
      const me = actingUser(ctx);
      return { counters: toCounters(await changed(me, await engagement.unlike(me, req.postId, postsFor(ctx)))) };
    },
    async listLikers(req, ctx) {
      const scope = `engagement.likers:${req.postId}`;
      const cursor = tokens.decode<{ t: number; id: string }>(scope, req.pageToken);
      const page = await engagement.likers(req.postId, pageSize(req.pageSize, 50), cursor, postsFor(ctx));
      return {
        likers: page.likers.map((l) => ({ userId: l.userId, createTime: timestampFromMs(l.createTime) })),
        nextPageToken: page.next ? tokens.encode(scope, { t: page.next.t, id: page.next.id }) : "",
      };
    },
    async addComment(req, ctx) {
      const comment = await engagement.addComment(actingUser(ctx), req.postId, req.text, req.requestId, postsFor(ctx));
      await model.write.forgetCounts(req.postId);
      return { comment: toComment(comment) };
    },
    async deleteComment(req, ctx) {
      await engagement.deleteComment(actingUser(ctx), req.postId, req.commentId, postsFor(ctx));
      await model.write.forgetCounts(req.postId);
      return {};
    },
    async listComments(req, ctx) {
      const scope = `engagement.comments:${req.postId}`;
      const cursor = tokens.decode<{ c: string }>(scope, req.pageToken);
      const page = await engagement.comments(req.postId, pageSize(req.pageSize, 20), cursor?.c ?? null, postsFor(ctx));
      return { comments: page.comments.map(toComment), nextPageToken: page.next ? tokens.encode(scope, { c: page.next }) : "" };
    },
    async batchGetPostCounters(req, ctx) {
      const counters = await engagement.counters(req.postIds, viewer(ctx), postsFor(ctx));
      return { counters: counters.map(toCounters) };
    },
  };
}
