// The event-bus contract, for every adapter: what a write puts in the outbox reaches each
// subscriber group at least once, in order per key; a failing handler gets the event again; a
// group that restarts resumes where it stopped.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { EventBus } from "../../services/platform/events.js";
import { eventually } from "../harness.js";

export interface BusRig {
  /** Writes a "posts" event with this key and post id, as a store would (through the outbox). */
  publish(key: string, postId: string): Promise<void>;
  newBus(): EventBus;
  /** Resolves once every event published so far can be consumed (the outbox relayed). */
  published(): Promise<void>;
}

export function busContract(name: string, rig: () => Promise<BusRig>): void {
  describe(`EventBus contract: ${name}`, () => {
    it("delivers to every group, in order per key, and redelivers after a failure", async () => {
      const r = await rig();
      const run = randomUUID().slice(0, 8);
      const keys = [`${run}-a`, `${run}-b`];
      const got: Record<string, string[]> = { g1: [], g2: [] };
      let failOnce = true;
      const bus = r.newBus();
      for (const g of ["g1", "g2"] as const) {
        bus.subscribe(`contract-${run}-${g}`, "posts", async ({ key, event }) => {
          if (!keys.includes(key) || event.event.case !== "created") return;
          if (g === "g2" && failOnce && event.event.value.postId === "3") {
            failOnce = false;
            throw new Error("transient failure");
          }
          got[g]!.push(`${key}:${event.event.value.postId}`);
        });
      }
      await bus.start();
      try {
        for (let i = 1; i <= 5; i++) for (const k of keys) await r.publish(k, String(i));
        const expect = (k: string) => [1, 2, 3, 4, 5].map((i) => `${k}:${i}`);
        await eventually(async () => {
          for (const g of ["g1", "g2"]) {
            for (const k of keys) {
              const mine = got[g]!.filter((x) => x.startsWith(`${k}:`));
              // At least once: drop repeats (a redelivery may repeat a handled event), keep order.
              assert.deepEqual([...new Set(mine)], expect(k), `${g} ${k}`);
            }
          }
        }, 60_000);
        assert.equal(failOnce, false, "the failing handler ran");
      } finally {
        await bus.stop();
      }
    });

    it("does not hold one key's events up behind another key's burst", async () => {
      const r = await rig();
      const run = randomUUID().slice(0, 8);
      const [busy, quiet] = [`${run}-busy`, `${run}-quiet`];
      const handled: string[] = [];
      const bus = r.newBus();
      bus.subscribe(`contract-${run}-burst`, "posts", async ({ key, event }) => {
        if (key !== busy && key !== quiet) return;
        if (key === busy) await new Promise((res) => setTimeout(res, 150)); // a slow fan-out
        handled.push(`${key === busy ? "busy" : "quiet"}:${event.event.case === "created" ? event.event.value.postId : ""}`);
      });
      try {
        for (let i = 1; i <= 10; i++) await r.publish(busy, String(i));
        await r.publish(quiet, "q");
        // all eleven on the bus before the consumer starts: the test is about the consumer, not
        // about how fast a loaded machine relays the outbox
        await r.published();
        await bus.start();
        await eventually(async () => assert.equal(new Set(handled).size, 11), 60_000);
        const quietAt = handled.indexOf("quiet:q");
        assert.ok(quietAt >= 0 && quietAt < 5, `the quiet key waited behind the burst: ${handled.join(" ")}`);
        assert.deepEqual(
          [...new Set(handled.filter((h) => h.startsWith("busy")))],
          Array.from({ length: 10 }, (_, i) => `busy:${i + 1}`),
          "the busy key stays in order",
        );
      } finally {
        await bus.stop();
      }
    });

    it("handles an event whose handler outlasts the consumer session once, without redelivery", async () => {
      const r = await rig();
      const run = randomUUID().slice(0, 8);
      const key = `${run}-long`;
      let calls = 0;
      const bus = r.newBus();
      bus.subscribe(`contract-${run}-long`, "posts", async ({ key: k }) => {
        if (k !== key) return;
        calls++;
        await new Promise((res) => setTimeout(res, 13_000)); // longer than Kafka's 10 s session
      });
      try {
        await r.publish(key, "1");
        await r.published();
        await bus.start();
        await eventually(async () => assert.ok(calls >= 1), 60_000);
        await new Promise((res) => setTimeout(res, 16_000)); // the handler ends; a redelivery would start
        assert.equal(calls, 1, "the event was delivered again: the consumer lost its session");
      } finally {
        await bus.stop();
      }
    });

    it("resumes a group after a restart without losing events written while it was down", async () => {
      const r = await rig();
      const run = randomUUID().slice(0, 8);
      const key = `${run}-k`;
      const group = `contract-${run}-resume`;
      const got: string[] = [];
      const start = async () => {
        const bus = r.newBus();
        bus.subscribe(group, "posts", async ({ key: k, event }) => {
          if (k === key && event.event.case === "created") got.push(event.event.value.postId);
        });
        await bus.start();
        return bus;
      };
      let bus = await start();
      await r.publish(key, "1");
      await eventually(async () => assert.deepEqual(got, ["1"]), 60_000);
      await bus.stop();
      await r.publish(key, "2"); // written while the group is down
      bus = await start();
      try {
        await r.publish(key, "3");
        await eventually(async () => assert.deepEqual([...new Set(got)], ["1", "2", "3"]), 60_000);
        assert.equal(got.filter((x) => x === "1").length, 1, "handled events are not delivered again after a clean stop");
      } finally {
        await bus.stop();
      }
    });
  });
}
