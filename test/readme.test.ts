// The README's example, run as written against a fresh server (ports substituted).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startSystem, type TestSystem } from "./harness.js";

const run = promisify(execFile);

describe("README", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("its example works as written", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /<!-- readme-example: start -->\s*```bash\n([\s\S]*?)```\s*<!-- readme-example: end -->/.exec(readme)?.[1];
    assert.ok(block, "the README has an example block");
    const script = block
      .replaceAll("127.0.0.1:8080", `127.0.0.1:${s.app.server.httpPort}`)
      .replaceAll("127.0.0.1:8081", `127.0.0.1:${s.app.server.grpcPort}`);
    // Twice against the same server: the example can be run again on the data it left.
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], { timeout: 60_000, env: process.env });
      assert.match(stdout, /"caption":"First light over the #harbour"/);
      assert.match(stdout, /"items":\[\{"post":\{"postId":"\d+"/, "Bob's feed has Alice's post");
      assert.match(stdout, /feedmesh\.feed\.v1\.FeedService/);
      assert.match(stdout, /"hashtags": \[\s*"harbour"/);
    }
  });

  it("quotes a real error", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const quoted = /`(invalid_argument: caption: [^`]*)`/.exec(readme)?.[1];
    assert.ok(quoted, "the README quotes a caption error");
    const res = await fetch(`${s.httpUrl}/feedmesh.identity.v1.IdentityService/SignUp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "quoter", email: "quoter@example.com", password: "Harbour-Lights-55" }),
    });
    const { accessToken } = ((await res.json()) as { tokens: { accessToken: string } }).tokens;
    const err = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/CreatePost`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ caption: "x".repeat(2201) }),
    });
    const body = (await err.json()) as { code: string; message: string };
    assert.equal(`${body.code}: ${body.message}`, quoted);
  });
});
