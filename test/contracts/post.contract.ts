// The PostStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";
import type { PostRecord, PostStore } from "../../services/post/store.js";

const DAY = 86_400_000;

export function postStoreContract(name: string, open: () => Promise<PostStore>): void {
  describe(`PostStore contract: ${name}`, () => {
    const gen = new IdGenerator(11);
    const post = (authorId: string, at = Date.now(), caption = "hello"): PostRecord => ({
      postId: gen.next(at),
      authorId,
      caption,
      hashtags: ["a"],
      mentions: [],
      media: [{ mediaId: "m1", kind: 1, contentType: "image/jpeg" }],
      createTime: at,
      updateTime: 0,
      deleted: false,
    });
    const event = (p: PostRecord) =>
      encodeEvent("posts", p.authorId, { event: { case: "created", value: { postId: p.postId, authorId: p.authorId } } });

    it("creates, reads, and is idempotent for a request id", async () => {
      const store = await open();
      const author = gen.next();
      const p = post(author);
      assert.deepEqual(await store.create(p, "req-1", event(p)), p);
      assert.deepEqual(await store.get(p.postId), p);
      const retry = post(author);
      assert.equal((await store.create(retry, "req-1", event(retry))).postId, p.postId);
      assert.equal(await store.get(retry.postId), undefined);
      const other = post(author);
      assert.equal((await store.create(other, "req-2", event(other))).postId, other.postId);
    });

    it("lists an author's posts newest first, across months, without deleted ones", async () => {
      const store = await open();
      const author = gen.next();
      const made = [];
      for (let i = 0; i < 7; i++) {
        const p = post(author, Date.now() - (7 - i) * 20 * DAY, `p${i}`);
        await store.create(p, "", event(p));
        made.push(p.postId);
      }
      await store.markDeleted(made[2]!, event(post(author)));
      await store.markDeleted(made[2]!, event(post(author))); // idempotent
      const expected = made.filter((_, i) => i !== 2).reverse();
      const first = await store.listByAuthor(author, 4, null);
      const rest = await store.listByAuthor(author, 10, first.at(-1)!.postId);
      assert.deepEqual(
        [...first, ...rest].map((p) => p.postId),
        expected,
      );
      assert.equal((await store.get(made[2]!))?.deleted, true);
      assert.deepEqual(
        (await store.getMany([made[2]!, made[3]!, "42"])).map((p) => p.postId),
        [made[3]],
      );
      assert.deepEqual(await store.listIdsByAuthor(author, 3, null), expected.slice(0, 3));
      assert.deepEqual(await store.listIdsByAuthor(author, 10, expected[2]!), expected.slice(3));
    });

    it("edits a caption and keeps the set of private authors", async () => {
      const store = await open();
      const author = gen.next();
      const p = post(author);
      await store.create(p, "", event(p));
      await store.update(p.postId, "new #b", ["b"], ["x"], Date.now(), event(p));
      const got = await store.get(p.postId);
      assert.equal(got?.caption, "new #b");
      assert.deepEqual(got?.hashtags, ["b"]);
      assert.ok((got?.updateTime ?? 0) > 0);
      await store.setAuthorPrivate(author, true);
      assert.deepEqual([...(await store.privateAuthors([author, gen.next()]))], [author]);
      await store.setAuthorPrivate(author, false);
      assert.equal((await store.privateAuthors([author])).size, 0);
    });
  });
}
