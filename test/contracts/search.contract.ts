// The SearchStore contract, for every adapter. Terms and names carry fresh ids, so runs sharing a
// keyspace do not see each other's documents.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdGenerator } from "../../services/platform/ids.js";
import type { SearchStore } from "../../services/search/store.js";

const DAY = 86_400_000;

export function searchStoreContract(name: string, open: () => Promise<SearchStore>): void {
  describe(`SearchStore contract: ${name}`, () => {
    const gen = new IdGenerator(19);
    const term = () => `t${gen.next()}`;

    it("finds posts having every term, newest first, in pages across months; edits replace terms; removed posts stay out", async () => {
      const store = await open();
      const [word, tag] = [term(), term()];
      const [p1, p2, p3] = [gen.next(Date.now() - 40 * DAY), gen.next(Date.now() - DAY), gen.next()];
      await store.indexPost(p1, [word, `#${tag}`]);
      await store.indexPost(p2, [word]);
      await store.indexPost(p3, [`#${tag}`, word, "sunset"]);
      await store.indexPost(p3, [`#${tag}`, word, "sunset"]); // redelivered

      assert.deepEqual(await store.findPosts([word], 10, null), { ids: [p3, p2, p1], next: null });
      assert.deepEqual(await store.findPosts([`#${tag}`, word], 10, null), { ids: [p3, p1], next: null });
      assert.deepEqual((await store.findPosts([tag], 10, null)).ids, [], "a hashtag is not a word");
      assert.deepEqual((await store.findPosts([word, term()], 10, null)).ids, [], "every term must match");
      const first = await store.findPosts([word], 2, null);
      assert.deepEqual(first, { ids: [p3, p2], next: p2 });
      assert.deepEqual(await store.findPosts([word], 2, first.next), { ids: [p1], next: null });

      await store.indexPost(p3, [`#${tag}`]); // edited: the caption lost the word
      assert.deepEqual((await store.findPosts([word], 10, null)).ids, [p2, p1]);
      assert.deepEqual((await store.findPosts([`#${tag}`], 10, null)).ids, [p3, p1]);
      await store.removePost(p2);
      await store.removePost(p2); // redelivered
      await store.indexPost(p2, [word]); // a late edit does not bring it back
      assert.deepEqual((await store.findPosts([word], 10, null)).ids, [p1]);
    });

    it("intersects a rare term with a common one and pages through the matches", async () => {
      const store = await open();
      const [common, rare] = [term(), term()];
      const posts = Array.from({ length: 30 }, (_, i) => gen.next(Date.now() - (30 - i) * 60_000));
      for (const [i, p] of posts.entries()) await store.indexPost(p, i % 10 === 3 ? [common, rare] : [common]);
      const expected = [posts[23]!, posts[13]!, posts[3]!];
      assert.deepEqual((await store.findPosts([rare, common], 10, null)).ids, expected);
      const seen: string[] = [];
      let before: string | null = null;
      do {
        const page: Awaited<ReturnType<SearchStore["findPosts"]>> = await store.findPosts([common, rare], 1, before);
        seen.push(...page.ids);
        before = page.next;
      } while (before);
      assert.deepEqual(seen, expected);
      assert.equal((await store.findPosts([common], 100, null)).ids.length, 30);
    });

    it("keeps like counts", async () => {
      const store = await open();
      const [a, b] = [gen.next(), gen.next()];
      await store.indexPost(a, [term()]);
      await store.setLikeCount(a, 3);
      await store.setLikeCount(b, 1); // counted before the post is indexed
      await store.setLikeCount(a, 2);
      const unknown = gen.next();
      assert.deepEqual(
        await store.likeCounts([a, b, unknown]),
        new Map([
          [a, 2],
          [b, 1],
          [unknown, 0],
        ]),
      );
    });

    it("finds users by a prefix of the username or the display name, by username, in pages, following renames", async () => {
      const store = await open();
      const base = `u${gen.next()}`;
      const [ann, bea, cal] = [`${base}ann`, `${base}bea`, `z${gen.next()}cal`];
      const ids = [gen.next(), gen.next(), gen.next()];
      await store.indexUser({ userId: ids[0]!, username: ann, displayKey: "ann" });
      await store.indexUser({ userId: ids[1]!, username: bea, displayKey: `ǂ${base}` });
      await store.indexUser({ userId: ids[2]!, username: cal, displayKey: `${base} cal` });
      const names = async (prefix: string, limit = 10, after: string | null = null) =>
        (await store.findUsers(prefix, limit, after)).map((u) => u.username);

      assert.deepEqual(await names(base), [ann, bea, cal], "by username, whichever matched");
      assert.deepEqual(await names(`${base}b`), [bea]);
      assert.deepEqual(await names(`${base} c`), [cal], "longer than the indexed prefixes");
      assert.deepEqual(await names(base, 2), [ann, bea]);
      assert.deepEqual(await names(base, 2, bea), [cal]);
      assert.deepEqual(await names("ǂ", 1, base), [bea], "one character: every bucket");
      assert.deepEqual(await names(`ǂ${base.slice(0, 1)}`, 1, base), [bea], "two characters");
      assert.deepEqual(await store.findUsers(`${base}a`, 10, null), [{ userId: ids[0], username: ann, displayKey: "ann" }]);

      await store.indexUser({ userId: ids[2]!, username: cal, displayKey: "someone else" }); // renamed
      assert.deepEqual(await names(base), [ann, bea]);
      assert.deepEqual(await names(cal.slice(0, 8), 1, cal.slice(0, -1)), [cal], "still found by username");
    });
  });
}
