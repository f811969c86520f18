// The GraphStore contract, for every adapter, with the celebrity index and its upkeep through
// threshold crossings (services/graph/celebrities.ts run on the adapter).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Crossings } from "../../services/graph/celebrities.js";
import {
  CELEBRITY,
  DEMOTING,
  FOLLOWING,
  type GraphStore,
  NONE,
  NOT_CELEBRITY,
  PROMOTING,
  REGULAR,
  REQUESTED,
} from "../../services/graph/store.js";
import { decodeEvent, encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";
import { createLogger } from "../../services/platform/log.js";
import { inParallel } from "../../services/platform/parallel.js";

const silent = createLogger("silent");

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

    it("reads the edges with several users both ways, and their privacy, in one call", async () => {
      const store = await open();
      const [me, followed, follower, mutual, pending, stranger] = [gen.next(), gen.next(), gen.next(), gen.next(), gen.next(), gen.next()];
      const privacy = encodeEvent("follows", pending, { event: { case: "privacyChanged", value: { userId: pending, private: true } } });
      await store.setPrivate(pending, true, privacy, (_f, c) => ev(c));
      await store.addEdge(me, followed, FOLLOWING, Date.now(), ev);
      await store.addEdge(follower, me, FOLLOWING, Date.now(), ev);
      await store.addEdge(me, mutual, FOLLOWING, Date.now(), ev);
      await store.addEdge(mutual, me, FOLLOWING, Date.now(), ev);
      await store.addEdge(me, pending, REQUESTED, Date.now(), ev);
      const got = await store.edgesWith(me, [followed, follower, mutual, pending, stranger, followed]);
      assert.deepEqual(Object.fromEntries(got), {
        [followed]: { outgoing: FOLLOWING, incoming: NONE, private: false },
        [follower]: { outgoing: NONE, incoming: FOLLOWING, private: false },
        [mutual]: { outgoing: FOLLOWING, incoming: FOLLOWING, private: false },
        [pending]: { outgoing: REQUESTED, incoming: NONE, private: true },
        [stranger]: { outgoing: NONE, incoming: NONE, private: false },
      });
    });

    it("indexes new followers of a promoting or celebrity account, not of a regular or demoting one", async () => {
      const store = await open();
      const star = gen.next();
      const [early, during, fan, asker, late, later] = [gen.next(), gen.next(), gen.next(), gen.next(), gen.next(), gen.next()];
      const celebrities = async (u: string) => (await store.listCelebrities(u, 10, null)).edges.map((e) => e.userId);
      let t = Date.now();
      await store.addEdge(early, star, FOLLOWING, t++, ev);
      assert.deepEqual(await store.celebrity(star), NOT_CELEBRITY);
      assert.deepEqual(await celebrities(early), []);

      assert.equal(await store.moveCelebrity(star, NOT_CELEBRITY, { state: PROMOTING, since: 1000 }), true);
      assert.equal(await store.moveCelebrity(star, NOT_CELEBRITY, { state: PROMOTING, since: 2000 }), false, "moved once");
      const promoting = await store.celebrity(star);
      assert.deepEqual(promoting, { state: PROMOTING, since: 1000, cursor: null, announced: false });
      await store.addEdge(during, star, FOLLOWING, t++, ev);
      assert.deepEqual(await celebrities(during), [star], "a follow during the promotion is indexed at once");
      assert.deepEqual(await celebrities(early), [], "earlier followers wait for the job");
      // The job: one page, then the cursor; a repeated page changes nothing.
      assert.equal(await store.indexFollowers(star, null, 2, true), null);
      assert.equal(await store.indexFollowers(star, null, 2, true), null);
      assert.deepEqual(await celebrities(early), [star]);

      assert.equal(await store.moveCelebrity(star, promoting, { state: CELEBRITY, since: 5000 }), true);
      const celebrity = await store.celebrity(star);
      assert.equal(celebrity.state, CELEBRITY);
      assert.equal(await store.saveCursor(star, promoting, { t: 1, id: "1" }), false, "a finished job cannot record progress");
      await store.addEdge(fan, star, FOLLOWING, t++, ev);
      await store.addEdge(asker, star, REQUESTED, t++, ev);
      assert.deepEqual(await celebrities(asker), [], "a request is not a follow");
      assert.equal(await store.approve(asker, star, t++, ev), true);
      assert.deepEqual(await celebrities(asker), [star]);
      assert.deepEqual(await celebrities(fan), [star]);

      assert.equal(await store.moveCelebrity(star, celebrity, { state: DEMOTING, since: 5000 }), true);
      const demoting = await store.celebrity(star);
      await store.addEdge(late, star, FOLLOWING, t++, ev);
      assert.deepEqual(await celebrities(late), [], "a follow during the demotion is fanned out, not indexed");
      await store.reconcile(fan, star);
      assert.deepEqual(await celebrities(fan), [star], "a demoting account stays pulled until its posts are pushed");
      await store.removeEdge(fan, star, ev);
      assert.deepEqual(await celebrities(fan), [], "an unfollow leaves the index at once");
      await store.announce(star, demoting, ev(0));
      assert.equal((await store.celebrity(star)).announced, true);

      assert.equal(await store.moveCelebrity(star, demoting, { state: REGULAR, since: 0 }), true);
      assert.deepEqual(await store.celebrity(star), NOT_CELEBRITY);
      await store.addEdge(later, star, FOLLOWING, t++, ev);
      assert.deepEqual(await celebrities(later), []);
    });

    it("reconciles a follower's row with the edge and the followee's state", async () => {
      const store = await open();
      const star = gen.next();
      const [fan, gone] = [gen.next(), gen.next()];
      const celebrities = async (u: string) => (await store.listCelebrities(u, 10, null)).edges.map((e) => e.userId);
      let t = Date.now();
      // Both followed while the star was regular, and the job did not see them (a race at its start).
      await store.addEdge(fan, star, FOLLOWING, t++, ev);
      await store.addEdge(gone, star, FOLLOWING, t++, ev);
      await store.moveCelebrity(star, NOT_CELEBRITY, { state: PROMOTING, since: 1 });
      await store.moveCelebrity(star, await store.celebrity(star), { state: CELEBRITY, since: 2 });
      assert.deepEqual(await celebrities(fan), []);
      await store.reconcile(fan, star); // the Followed event's second look
      assert.deepEqual(await celebrities(fan), [star]);
      await store.reconcile(fan, star);
      assert.deepEqual(await celebrities(fan), [star], "idempotent");
      await store.indexFollowers(star, null, 10, true);
      await store.removeEdge(gone, star, ev);
      await store.reconcile(gone, star);
      assert.deepEqual(await celebrities(gone), []);
    });

    it("lists a user's celebrity index newest first, in pages", async () => {
      const store = await open();
      const fan = gen.next();
      const stars = Array.from({ length: 5 }, () => gen.next());
      let t = Date.now();
      for (const star of stars) {
        await store.moveCelebrity(star, NOT_CELEBRITY, { state: PROMOTING, since: 1 });
        await store.addEdge(fan, star, FOLLOWING, t++, ev);
      }
      await store.addEdge(fan, gen.next(), FOLLOWING, t++, ev); // not a celebrity
      const seen: string[] = [];
      let after = null;
      do {
        const page: Awaited<ReturnType<GraphStore["listCelebrities"]>> = await store.listCelebrities(fan, 2, after);
        seen.push(...page.edges.map((e) => e.userId));
        after = page.next;
      } while (after);
      assert.deepEqual(seen, [...stars].reverse());
    });

    it("promotes an account with many followers across a crash, and demotes it once its posts are pushed", async () => {
      const THRESHOLD = 2000;
      const store = await open();
      const star = gen.next();
      const fans = Array.from({ length: 2100 }, () => gen.next());
      const t0 = Date.now();
      await inParallel(
        fans.map((f, i) => [f, i] as const),
        32,
        async ([f, i]) => void (await store.addEdge(f, star, FOLLOWING, t0 + i, ev)),
      );
      const indexed = async (users: string[]) => {
        const found: string[] = [];
        await inParallel(users, 32, async (u) => {
          if ((await store.listCelebrities(u, 10, null)).edges.some((e) => e.userId === star)) found.push(u);
        });
        return found.length;
      };
      assert.equal(await indexed(fans), 0);

      // The job crashes after two pages of 500; the next run resumes at the recorded cursor.
      const pages: string[] = [];
      const recording = (failAt: number) =>
        new Proxy(store, {
          get(target, prop) {
            if (prop === "indexFollowers")
              return async (...args: Parameters<GraphStore["indexFollowers"]>) => {
                if (pages.length + 1 === failAt) throw new Error("crashed");
                pages.push(args[1] ? `${args[1].t}` : "start");
                return target.indexFollowers(...args);
              };
            const v = Reflect.get(target, prop);
            return typeof v === "function" ? v.bind(target) : v;
          },
        });
      await assert.rejects(new Crossings(recording(3), THRESHOLD, silent, 500).evaluate(star), /crashed/);
      assert.equal((await store.celebrity(star)).state, PROMOTING);
      assert.equal(await indexed(fans), 1000);
      const crossings = new Crossings(recording(0), THRESHOLD, silent, 500);
      await crossings.evaluate(star);
      assert.equal(pages.length, 5, `pages run: ${pages.join(" ")}`);
      assert.equal(new Set(pages).size, 5, "no page ran twice");
      const celebrity = await store.celebrity(star);
      assert.equal(celebrity.state, CELEBRITY);
      assert.equal(await indexed(fans), 2100);

      // 1850 followers: below the threshold but within the hysteresis band, still a celebrity.
      const leaving = fans.slice(0, 301);
      const unfollowed = async (f: string) => {
        await store.removeEdge(f, star, ev);
        const count = (await store.counts(star)).followers;
        const e = encodeEvent("follows", f, {
          event: { case: "unfollowed", value: { followerId: f, followeeId: star, followeeFollowerCount: BigInt(count) } },
        });
        await crossings.onEvent({ topic: "follows", key: f, event: decodeEvent("follows", e.payload), headers: {} });
      };
      for (const f of leaving.slice(0, 250)) await unfollowed(f);
      assert.equal((await store.counts(star)).followers, 1850);
      assert.equal((await store.celebrity(star)).state, CELEBRITY);
      for (const f of leaving.slice(250)) await unfollowed(f);
      assert.equal((await store.counts(star)).followers, 1799);
      const demoting = await store.celebrity(star);
      assert.deepEqual({ ...demoting, cursor: null }, { state: DEMOTING, since: celebrity.since, cursor: null, announced: true });
      const staying = fans.slice(301);
      assert.equal(await indexed(staying), staying.length, "still pulled until the fanout has pushed the posts");
      assert.equal(await indexed(leaving), 0);

      const backfilled = async (since: number) => {
        const e = encodeEvent("follows", star, {
          event: { case: "celebrityBackfilled", value: { userId: star, since: timestampFromMs(since) } },
        });
        await crossings.onEvent({ topic: "follows", key: star, event: decodeEvent("follows", e.payload), headers: {} });
      };
      await backfilled(celebrity.since - 1); // an answer to another demotion
      assert.equal((await store.celebrity(star)).state, DEMOTING);
      await backfilled(celebrity.since);
      assert.deepEqual(await store.celebrity(star), NOT_CELEBRITY);
      assert.equal(await indexed(staying), 0);
      await backfilled(celebrity.since); // a redelivery
      assert.deepEqual(await store.celebrity(star), NOT_CELEBRITY);
    });
  });
}
