// The celebrity index's upkeep when an account crosses the threshold (docs/feed.md): the graph's
// consumer of its own follow events promotes an account whose followers reached the threshold
// and demotes one that fell 10% below it (the hysteresis keeps an account that hovers at the
// threshold from being re-indexed at every follow). The index is rebuilt by jobs that page
// through the followers 1000 at a time and record their cursor after each page; a job runs inside
// the handler of the event that needs it, so a crash leaves that event unacknowledged and its
// redelivery resumes the job at the cursor. Every step is idempotent.
//
//   REGULAR --followers ≥ T--> PROMOTING --every follower indexed--> CELEBRITY
//   CELEBRITY --followers < T - T/10--> DEMOTING --CelebrityBackfilled: every row removed--> REGULAR
//
// The fanout fans an account out unless it is a CELEBRITY, and readers pull what their index
// lists, so at every moment a post is pushed or pulled (or both; the read merges by post id).
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { type Delivery, encodeEvent } from "../platform/events.js";
import type { Logger } from "../platform/log.js";
import { CELEBRITY, type CelebrityStatus, DEMOTING, type GraphStore, PROMOTING, REGULAR } from "./store.js";

/** How many followers a job indexes (or unindexes) per step. */
export const INDEX_PAGE = 1000;

export class Crossings {
  /** Per account, the evaluation in progress: one at a time per account in this process. */
  private readonly queue = new Map<string, Promise<void>>();

  constructor(
    private readonly store: GraphStore,
    private readonly threshold: number,
    private readonly log: Logger,
    private readonly page = INDEX_PAGE,
    /** Readers' cached lists of followed celebrities are stale (the feed's read model): throws when not recorded. */
    private readonly listsStale: () => Promise<void> = async () => {},
  ) {}

  /** Below this many followers a celebrity is demoted. */
  get lowWater(): number {
    return this.threshold - Math.floor(this.threshold / 10);
  }

  /** The graph's consumer of the follows topic. */
  async onEvent({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    if (e.case === "followed" || e.case === "unfollowed") {
      const { followerId, followeeId } = e.value;
      const count = Number(e.value.followeeFollowerCount);
      const { state } = await this.store.celebrity(followeeId);
      if (state !== REGULAR) await this.store.reconcile(followerId, followeeId);
      // The event that started a step is redelivered after a crash, and resumes it.
      const crossing =
        e.case === "followed"
          ? count >= this.threshold && (state === REGULAR || state === PROMOTING)
          : count < this.lowWater && (state === CELEBRITY || state === DEMOTING);
      if (crossing) await this.evaluate(followeeId);
    } else if (e.case === "celebrityBackfilled") {
      const since = e.value.since ? timestampMs(e.value.since) : 0;
      await this.serially(e.value.userId, () => this.finishDemotion(e.value.userId, since));
    }
  }

  /** Moves an account through the states its follower count calls for, running the jobs. */
  evaluate(userId: string): Promise<void> {
    return this.serially(userId, () => this.step(userId));
  }

  private serially(userId: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.queue.get(userId) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined, // the caller gets the failure; the next in line runs anyway
    );
    this.queue.set(userId, tail);
    void tail.then(() => {
      if (this.queue.get(userId) === tail) this.queue.delete(userId);
    });
    return run;
  }

  private async step(userId: string): Promise<void> {
    for (;;) {
      const status = await this.store.celebrity(userId);
      const followers = (await this.store.counts(userId)).followers;
      if (status.state === REGULAR && followers >= this.threshold) {
        await this.store.moveCelebrity(userId, status, { state: PROMOTING, since: Date.now() });
      } else if (status.state === PROMOTING) {
        if (!(await this.runJob(userId, status, true))) continue;
        // Every follower's index row exists: readers' cached lists must be read again before the
        // account's posts stop being fanned out (a failure here leaves it promoting, retried).
        await this.listsStale();
        await this.store.moveCelebrity(userId, status, { state: CELEBRITY, since: Date.now() });
        this.log.info({ userId, followers }, "promoted to celebrity");
      } else if (status.state === CELEBRITY && followers < this.lowWater) {
        await this.store.moveCelebrity(userId, status, { state: DEMOTING, since: status.since });
      } else if (status.state === DEMOTING && !status.announced) {
        // The fanout pushes the pulled posts, then answers with CelebrityBackfilled.
        const event = encodeEvent("follows", userId, {
          event: { case: "celebrityDemoting", value: { userId, since: timestampFromMs(status.since) } },
        });
        await this.store.announce(userId, status, event);
        this.log.info({ userId, followers }, "demoting a celebrity");
        return;
      } else {
        return;
      }
    }
  }

  private async finishDemotion(userId: string, since: number): Promise<void> {
    const status = await this.store.celebrity(userId);
    if (status.state !== DEMOTING || status.since !== since) return; // a repeat, or an earlier demotion
    if (await this.runJob(userId, status, false)) {
      await this.store.moveCelebrity(userId, status, { state: REGULAR, since: 0 });
      await this.listsStale().catch(() => undefined); // a stale list only pulls an account no longer needed
      this.log.info({ userId }, "demoted");
    }
    await this.step(userId); // the count may have climbed back meanwhile
  }

  /**
   * Adds (or removes) every follower's index row, from the recorded cursor on. Returns false if
   * the account moved on meanwhile (another runner finished the job).
   */
  private async runJob(userId: string, status: CelebrityStatus, add: boolean): Promise<boolean> {
    let cursor = status.cursor;
    do {
      cursor = await this.store.indexFollowers(userId, cursor, this.page, add);
      if (cursor && !(await this.store.saveCursor(userId, status, cursor))) return false;
    } while (cursor);
    return true;
  }
}
