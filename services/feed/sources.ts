// What a home-feed read asks the other services, as the reader (one instance per read: a class,
// so no closures are built per call).
import type { CallOptions } from "@connectrpc/connect";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import type { User } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import type { Post } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import type { Logger } from "../platform/log.js";
import { pageCounters } from "./counters.js";
import type { FeedSources } from "./feed.js";
import type { ReadSources } from "./read.js";
import type { Counts } from "./readmodel.js";

/** How many followed celebrities a read merges at most. */
const MAX_CELEBRITIES = 1000;

export class ServiceSources implements ReadSources, FeedSources {
  constructor(
    private readonly clients: Clients,
    private readonly auth: CallAuth,
    private readonly log: Logger,
    private readonly celebrityThreshold: number,
    private readonly me: string,
    /** The reader's credential, forwarded: the other services apply the reader's visibility. */
    private readonly opts: CallOptions,
  ) {}

  async posts(postIds: string[]): Promise<Post[]> {
    return postIds.length ? (await this.clients.post.batchGetPosts({ postIds }, this.opts)).posts : [];
  }

  async users(userIds: string[]): Promise<User[]> {
    return (await this.clients.identity.batchGetUsers({ userIds }, this.opts)).users;
  }

  async celebrities(): Promise<string[]> {
    const out: string[] = [];
    let pageToken = "";
    do {
      const res = await this.clients.graph.listFollowing(
        { userId: this.me, pageSize: 1000, pageToken, minFollowerCount: BigInt(this.celebrityThreshold) },
        this.opts,
      );
      out.push(...res.following.map((f) => f.userId));
      pageToken = res.nextPageToken;
    } while (pageToken && out.length < MAX_CELEBRITIES);
    return out;
  }

  async pulled(userIds: string[], limit: number, before: string | null): Promise<Post[]> {
    return (await this.clients.post.listPostsByAuthors({ userIds, pageSize: Math.min(limit, 100), beforePostId: before ?? "" }, this.opts))
      .posts;
  }

  async following(userIds: string[]): Promise<Set<string>> {
    const res = await this.clients.graph.batchGetRelationships({ userIds }, this.opts);
    return new Set(res.relationships.filter((r) => r.outgoing === FollowState.FOLLOWING).map((r) => r.userId));
  }

  async counters(postIds: string[]): Promise<Map<string, Counts & { liked: boolean }> | null> {
    const got = await pageCounters(this.clients, this.opts, this.log, postIds);
    if (got === null) return null;
    return new Map(
      [...got].map(([id, c]) => [id, { likes: Number(c.likeCount), comments: Number(c.commentCount), liked: c.likedByCaller }]),
    );
  }

  /** A celebrity's newest post ids, as the service (a timeline is shared by every reader). */
  async timeline(userId: string, limit: number): Promise<string[]> {
    const res = await this.clients.post.listUserPosts({ userId, pageSize: limit, beforePostId: "" }, await this.auth.asService());
    return res.posts.map((p) => p.postId);
  }
}
