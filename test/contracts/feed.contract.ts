// The FeedStore contract: what the feed and the fanout rely on, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FeedStore, UNFOLLOW_CLEANUP_MS } from "../../services/feed/store.js";
import { IdGenerator, idTime } from "../../services/platform/ids.js";

const DAY = 86_400_000;

export function feedStoreContract(name: string, open: () => Promise<FeedStore>): void {
  describe(`FeedStore contract: ${name}`, () => {
    const gen = new IdGenerator(9);
    const user = () => gen.next(Date.now() - 400 * DAY); // ids of "users": unique, any time

    it("pages newest first with an exclusive cursor, across month partitions", async () => {
      const store = await open();
      const [reader, author] = [user(), user()];
      // Posts spread over ~100 days, so several month buckets are crossed.
      const posts = Array.from({ length: 12 }, (_, i) => gen.next(Date.now() - (12 - i) * 9 * DAY));
      for (const p of posts) await store.add([reader], { postId: p, authorId: author });
      await store.add([reader], { postId: posts[3]!, authorId: author }); // a redelivery: no duplicate
      const seen: string[] = [];
      let before: string | null = null;
      for (;;) {
        const page: { postId: string }[] = await store.page(reader, 5, before);
        seen.push(...page.map((e) => e.postId));
        if (page.length < 5) break;
        before = page.at(-1)!.postId;
      }
      assert.deepEqual(seen, [...posts].reverse());
      assert.deepEqual(await store.page(user(), 5, null), []);
    });

    it("removes a post from given readers, and one author's posts from one reader", async () => {
      const store = await open();
      const [r1, r2, a, b] = [user(), user(), user(), user()];
      const [pa1, pb1, pa2] = [gen.next(), gen.next(), gen.next()];
      await store.add([r1, r2], { postId: pa1, authorId: a });
      await store.add([r1, r2], { postId: pb1, authorId: b });
      await store.addMany(r1, [{ postId: pa2, authorId: a }]);
      await store.remove([r2], { postId: pb1, authorId: b });
      assert.deepEqual(
        (await store.page(r2, 10, null)).map((e) => e.postId),
        [pa1],
      );
      await store.removeAuthor(r1, a);
      assert.deepEqual(await store.page(r1, 10, null), [{ postId: pb1, authorId: b }]);
      await store.removeAuthor(r1, a); // idempotent
      await store.remove([r1], { postId: pa1, authorId: a });
      assert.equal((await store.page(r1, 10, null)).length, 1);
    });

    it("removes an author's posts beyond one page of a long read", async () => {
      const store = await open();
      const [reader, author, other] = [user(), user(), user()];
      const keep = gen.next();
      await store.add([reader], { postId: keep, authorId: other });
      await store.addMany(
        reader,
        Array.from({ length: 2500 }, () => ({ postId: gen.next(), authorId: author })),
      );
      await store.removeAuthor(reader, author);
      assert.deepEqual(await store.page(reader, 10, null), [{ postId: keep, authorId: other }]);
    });

    it("removes an author's posts from a reader's recent months at least, and only from that reader's feed", async () => {
      const store = await open();
      const [reader, otherReader, author, other] = [user(), user(), user(), user()];
      const entries = Array.from({ length: 16 }, (_, i) => ({
        postId: gen.next(Date.now() - (16 - i) * 20 * DAY + 1000),
        authorId: i % 2 === 0 ? author : other,
      }));
      for (const e of entries) await store.add([reader, otherReader], e);
      await store.removeAuthor(reader, author);
      const left = new Set((await store.page(reader, 100, null)).map((e) => e.postId));
      for (const e of entries) {
        if (e.authorId === other) assert.ok(left.has(e.postId), "another author's entry was removed");
        else if (idTime(e.postId) >= Date.now() - UNFOLLOW_CLEANUP_MS)
          assert.ok(!left.has(e.postId), "a recent entry of the author stayed");
      }
      assert.equal((await store.page(otherReader, 100, null)).length, 16);
    });
  });
}
