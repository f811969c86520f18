// Search end to end: posts by words and #hashtags, newest first or by likes, in pages; private
// accounts' posts only for their approved followers and themselves; edited and deleted posts;
// users by username and display-name prefix; bad input. The same suite runs on the embedded
// backends (search.test.ts) and on Cassandra and Kafka (notifsearch.real.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { SearchSort } from "../gen/ts/feedmesh/search/v1/search_service_pb.js";
import { encodeEvent } from "../services/platform/events.js";
import { eventually, newUser, rejectsWith, settle, startSystem, type TestSystem } from "./harness.js";
import { publish } from "./notification.suite.js";

type User = Awaited<ReturnType<typeof newUser>>;
let unique = 0;
/** A word no other test (or earlier run on a shared keyspace) uses. */
const word = (stem: string) => `${stem}${process.pid}q${Date.now().toString(36)}${++unique}`;

export function searchSuite(name: string, env: Record<string, string>): void {
  describe(`search (${name})`, () => {
    let s: TestSystem;
    before(async () => {
      s = await startSystem(env);
    });
    after(() => s.stop());

    const found = async (u: User, query: string, sort = SearchSort.DATE) =>
      (await s.grpc.search.searchPosts({ query, sort, pageSize: 100 }, u.opts)).posts.map((p) => p.postId);

    it("finds a new post by its words and hashtags, newest first, in pages; follows edits", async () => {
      const c = s.grpc;
      const [author, reader] = [await newUser(c, "author"), await newUser(c, "reader")];
      const [tag, place] = [word("tag"), word("Harbour")];
      const first = (await c.post.createPost({ caption: `Sunset over the ${place} #${tag}` }, author.opts)).post!.postId;
      const second = (await c.post.createPost({ caption: `again #${tag.toUpperCase()}` }, author.opts)).post!.postId;
      await settle(s);
      await eventually(async () => assert.deepEqual(await found(reader, `#${tag}`), [second, first]));
      assert.deepEqual(await found(reader, `sunset ${place.toUpperCase()}`), [first], "every word, any case");
      assert.deepEqual(await found(reader, `#${tag} again`), [second]);
      assert.deepEqual(await found(reader, tag), [second, first], "a hashtag's word is a word of the caption");
      assert.deepEqual(await found(reader, `#${place}`), [], "a word is not a hashtag");
      const page1 = await c.search.searchPosts({ query: `#${tag}`, pageSize: 1 }, reader.opts);
      const page2 = await c.search.searchPosts({ query: `#${tag}`, pageSize: 1, pageToken: page1.nextPageToken }, reader.opts);
      assert.deepEqual(
        [...page1.posts, ...page2.posts].map((p) => p.postId),
        [second, first],
      );
      assert.equal(page2.nextPageToken, "");
      assert.equal(page1.posts[0]?.caption, `again #${tag.toUpperCase()}`, "whole posts, from the post service");

      const rise = word("Moonrise"); // unique: the real backends' index is shared across runs
      await c.post.editPost({ postId: first, caption: `${rise} #${tag}` }, author.opts);
      await settle(s);
      await eventually(async () => assert.deepEqual(await found(reader, rise.toLowerCase()), [first]));
      assert.deepEqual(await found(reader, `${place}`), []);
    });

    it("shows a private account's posts only to its approved followers and itself, and deleted posts to nobody", async () => {
      const c = s.grpc;
      const [owner, friend, stranger] = [await newUser(c, "owner"), await newUser(c, "friend"), await newUser(c, "stranger")];
      const tag = word("secret");
      const publicPost = (await c.post.createPost({ caption: `out in the open #${tag}` }, owner.opts)).post!.postId;
      await c.graph.updatePrivacySettings({ settings: { private: true } }, owner.opts);
      await c.graph.follow({ userId: owner.id }, friend.opts);
      await c.graph.approveFollowRequest({ userId: friend.id }, owner.opts);
      await c.graph.follow({ userId: owner.id }, stranger.opts); // requested, never approved
      const privatePost = (await c.post.createPost({ caption: `for friends #${tag}` }, owner.opts)).post!.postId;
      await settle(s);
      await eventually(async () => assert.deepEqual(await found(owner, `#${tag}`), [privatePost, publicPost]));
      assert.deepEqual(await found(friend, `#${tag}`), [privatePost, publicPost]);
      assert.deepEqual(await found(stranger, `#${tag}`), [], "the whole account is private now");
      assert.deepEqual(await found(stranger, `#${tag}`, SearchSort.LIKES), []);

      await c.post.deletePost({ postId: privatePost }, owner.opts);
      assert.deepEqual(await found(friend, `#${tag}`), [publicPost], "gone at once, before the index hears of it");
      await settle(s);
      assert.deepEqual(await found(owner, `#${tag}`), [publicPost]);
    });

    it("orders by likes when asked, from the like counts of engagement events", async () => {
      const c = s.grpc;
      const [author, reader] = [await newUser(c, "author"), await newUser(c, "reader")];
      const tag = word("liked");
      const posts: string[] = [];
      for (let i = 0; i < 4; i++) posts.push((await c.post.createPost({ caption: `#${tag} ${i}` }, author.opts)).post!.postId);
      const likes = [5, 0, 9, 5];
      for (const [i, postId] of posts.entries()) {
        if (likes[i] === 0) continue;
        await publish(
          s,
          encodeEvent("engagement", postId, {
            event: { case: "liked", value: { postId, postAuthorId: author.id, userId: reader.id, likeCount: BigInt(likes[i]!) } },
          }),
        );
      }
      await settle(s);
      const expected = [posts[2], posts[3], posts[0], posts[1]]; // 9, 5 (newer), 5, 0
      await eventually(async () => assert.deepEqual(await found(reader, `#${tag}`, SearchSort.LIKES), expected));
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await c.search.searchPosts({ query: `#${tag}`, sort: SearchSort.LIKES, pageSize: 3, pageToken }, reader.opts);
        seen.push(...page.posts.map((p) => p.postId));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(seen, expected);
    });

    it("finds users by a prefix of their username or display name, by username, in pages", async () => {
      const c = s.grpc;
      const [ann, bob] = [await newUser(c, "srcha"), await newUser(c, "srchb")];
      const surname = word("Zoë");
      await c.identity.updateProfile({ displayName: `${surname} Quartz`, updateMask: ["display_name"] }, ann.opts);
      await c.identity.updateProfile({ displayName: `${surname}-Beta`, updateMask: ["display_name"] }, bob.opts);
      await settle(s);
      const users = async (query: string) => (await c.search.searchUsers({ query }, bob.opts)).users.map((x) => x.username);
      const folded = surname.replace("ë", "e").toLowerCase();
      await eventually(async () => assert.deepEqual(await users(`${folded}  QUA`), [ann.username]));
      assert.deepEqual(await users(`@${ann.username.toUpperCase()}`), [ann.username], "the username, any case, with @");
      assert.deepEqual(await users(ann.username.slice(0, -1)), [ann.username]);
      const profiles = (await c.search.searchUsers({ query: surname }, bob.opts)).users;
      assert.deepEqual(
        profiles.map((u) => u.displayName),
        [`${surname} Quartz`, `${surname}-Beta`],
        "whole profiles from the identity service, by username",
      );

      const all: string[] = [];
      let pageToken = "";
      do {
        const page = await c.search.searchUsers({ query: folded, pageSize: 1, pageToken }, bob.opts);
        all.push(...page.users.map((u) => u.username));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(all, [ann.username, bob.username]);
    });

    it("rejects bad input with INVALID_ARGUMENT and a field, and needs a signed-in user", async () => {
      const c = s.grpc;
      const u = await newUser(c, "asker");
      await rejectsWith(c.search.searchPosts({ query: "" }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchPosts({ query: "!!! ???" }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchPosts({ query: "a b c d e f g h i" }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchPosts({ query: "x".repeat(201) }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchPosts({ query: "sunset", pageSize: 101 }, u.opts), Code.InvalidArgument, "page_size");
      await rejectsWith(c.search.searchPosts({ query: "sunset", sort: 7 as SearchSort }, u.opts), Code.InvalidArgument, "sort");
      const token = (await c.search.searchUsers({ query: "s", pageSize: 1 }, u.opts)).nextPageToken;
      await rejectsWith(c.search.searchPosts({ query: "sunset", pageToken: token }, u.opts), Code.InvalidArgument, "page_token");
      await rejectsWith(c.search.searchUsers({ query: "   " }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchUsers({ query: "x".repeat(65) }, u.opts), Code.InvalidArgument, "query");
      await rejectsWith(c.search.searchUsers({ query: "s", pageToken: "nope" }, u.opts), Code.InvalidArgument, "page_token");
      await rejectsWith(c.search.searchPosts({ query: "sunset" }), Code.Unauthenticated);
      await rejectsWith(c.search.searchUsers({ query: "s" }), Code.Unauthenticated);
    });
  });
}
