// Likes, comments and counters on the embedded backends, and the home feed while the engagement
// service is down.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { MODULES } from "../services/modules.js";
import { engagementSuite } from "./engagement.suite.js";
import { newUser, settle, startSystem, type TestSystem } from "./harness.js";

engagementSuite("embedded", {});

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the home feed without the engagement service", () => {
  let s: TestSystem;
  before(async () => {
    const { engagement: _, ...withoutEngagement } = MODULES;
    s = await startSystem({ FEEDMESH_ENGAGEMENT_ADDR: `127.0.0.1:${await closedPort()}` }, withoutEngagement);
  });
  after(() => s.stop());

  it("is served without counters when they cannot be had", async () => {
    const c = s.grpc;
    const [alice, bob] = [await newUser(c, "alice"), await newUser(c, "bob")];
    await c.graph.follow({ userId: alice.id }, bob.opts);
    const p = (await c.post.createPost({ caption: "still here" }, alice.opts)).post!.postId;
    await settle(s);
    const feed = await c.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => [i.post?.postId, i.author?.userId, i.counters]),
      [[p, alice.id, undefined]],
    );
  });
});
