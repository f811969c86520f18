// feedmesh rebuild-read-model: warms every reader's read model through a running feed target.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { feedReaderOf } from "../services/feed/index.js";
import { rebuildReadModel } from "../services/feed/rebuild.js";
import { newUser, settle, startSystem, type TestSystem, tempDir } from "./harness.js";

describe("rebuild-read-model", () => {
  let s: TestSystem;
  const data = tempDir();
  before(async () => {
    s = await startSystem({ FEEDMESH_STORE: "sqlite", FEEDMESH_DATA_DIR: data.dir });
  });
  after(async () => {
    await s.stop();
    data.cleanup();
  });

  it("reads every user's first pages once, so that their next read is served by the read model", async () => {
    const c = s.grpc;
    const author = await newUser(c, "author");
    const readers = [await newUser(c, "reader"), await newUser(c, "reader")];
    for (const r of readers) await c.graph.follow({ userId: author.id }, r.opts);
    for (let i = 0; i < 3; i++) await c.post.createPost({ caption: `p${i}` }, author.opts);
    await settle(s);
    const served = feedReaderOf(s.app.runtime)!.served;
    const slow = served.slow;
    const lines: string[] = [];
    const result = await rebuildReadModel(s.app.runtime.config, {
      grpc: s.grpcUrl.replace("http://", ""),
      concurrency: 2,
      pages: 2,
      progress: (l) => lines.push(l),
    });
    assert.deepEqual([result.readers, result.failed], [3, 0], JSON.stringify(result));
    assert.equal(served.slow, slow + 3, "each user's first read took the slow path, and filled the model");
    assert.match(lines.at(-1)!, /^rebuild-read-model: 3 readers, \d+ pages, \d+ readers\/s, 0 failed/);
    const fast = served.fast;
    const page = await c.feed.getHomeFeed({ pageSize: 10 }, readers[0]!.opts);
    assert.equal(page.items.length, 3);
    assert.deepEqual([served.fast, served.slow], [fast + 1, slow + 3], "the reader's next read is a read-model hit");
  });
});
