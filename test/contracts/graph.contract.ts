// The GraphStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FOLLOWING, type GraphStore, NONE, REQUESTED } from "../../services/graph/store.js";
import { encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";

export function graphStoreContract(name: string, open: () => Promise<GraphStore>): void {
  describe(`GraphStore contract: ${name}`, () => {
    const gen = new IdGenerator(13);
    const counts: number[] = [];
    const ev = (count: number) => {
      counts.push(count);
      return encodeEvent("follows", "k", { event: { case: "followed", value: { followerId: "1", followeeId: "2" } } });
    };

    it("adds an edge once, counts it, removes it", async () => {
      const store = await open();
      const [a, b] = [gen.next(), gen.next()];
      assert.equal(await store.addEdge(a, b, FOLLOWING, Date.now(), ev), FOLLOWING);
      assert.equal(counts.at(-1), 1);
      assert.equal(await store.addEdge(a, b, FOLLOWING, Date.now(), ev), FOLLOWING); // no double count
      assert.deepEqual(await store.counts(b), { followers: 1, following: 0 });
      assert.deepEqual(await store.counts(a), { followers: 0, following: 1 });
      assert.equal(await store.edge(a, b), FOLLOWING);
      assert.equal(await store.edge(b, a), NONE);
      assert.equal(await store.removeEdge(a, b, ev), FOLLOWING);
      assert.equal(counts.at(-1), 0);
      assert.equal(await store.removeEdge(a, b, ev), NONE);
      assert.deepEqual(await store.counts(b), { followers: 0, following: 0 });
    });

    it("keeps requests apart until approved", async () => {
      const store = await open();
      const [fan, owner] = [gen.next(), gen.next()];
      assert.equal(await store.addEdge(fan, owner, REQUESTED, Date.now(), ev), REQUESTED);
      assert.deepEqual(
        (await store.listIncoming(owner, REQUESTED, 10, null)).edges.map((e) => e.userId),
        [fan],
      );
      assert.deepEqual((await store.listIncoming(owner, FOLLOWING, 10, null)).edges, []);
      assert.equal((await store.counts(owner)).followers, 0);
      assert.equal(await store.approve(fan, owner, Date.now(), ev), true);
      assert.equal(await store.approve(fan, owner, Date.now(), ev), false);
      assert.deepEqual(
        (await store.listIncoming(owner, FOLLOWING, 10, null)).edges.map((e) => e.userId),
        [fan],
      );
      assert.deepEqual((await store.listIncoming(owner, REQUESTED, 10, null)).edges, []);
      assert.deepEqual(
        (await store.listOutgoing(fan, 10, null, 0)).edges.map((e) => e.userId),
        [owner],
      );
    });

    it("pages lists newest first and filters by follower count", async () => {
      const store = await open();
      const star = gen.next();
      const fans = Array.from({ length: 7 }, () => gen.next());
      let t = Date.now();
      for (const f of fans) await store.addEdge(f, star, FOLLOWING, t++, ev);
      const seen: string[] = [];
      let after = null;
      do {
        const page: Awaited<ReturnType<GraphStore["listIncoming"]>> = await store.listIncoming(star, FOLLOWING, 3, after);
        seen.push(...page.edges.map((e) => e.userId));
        after = page.next;
      } while (after);
      assert.deepEqual(seen, [...fans].reverse());
      const nobody = gen.next();
      await store.addEdge(fans[0]!, nobody, FOLLOWING, t++, ev);
      assert.deepEqual(
        (await store.listOutgoing(fans[0]!, 10, null, 5)).edges.map((e) => e.userId),
        [star],
      );
      assert.deepEqual(
        (await store.listOutgoing(fans[0]!, 10, null, 0)).edges.map((e) => e.userId),
        [nobody, star],
      );
    });

    it("keeps privacy, and approves pending requests when an account turns public", async () => {
      const store = await open();
      const [owner, fan] = [gen.next(), gen.next()];
      const privacy = (p: boolean) =>
        encodeEvent("follows", owner, { event: { case: "privacyChanged", value: { userId: owner, private: p } } });
      await store.setPrivate(owner, true, privacy(true), (_f, c) => ev(c));
      assert.equal(await store.isPrivate(owner), true);
      await store.addEdge(fan, owner, REQUESTED, Date.now(), ev);
      await store.setPrivate(owner, false, privacy(false), (_f, c) => ev(c));
      assert.equal(await store.isPrivate(owner), false);
      assert.equal(await store.edge(fan, owner), FOLLOWING);
      assert.equal((await store.counts(owner)).followers, 1);
    });
  });
}
