// Unit tests of the platform's small parts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CompleteUploadRequestSchema } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { ConfigError, loadConfig } from "./config.js";
import { compareIds, IdGenerator, idTime } from "./ids.js";
import { PageTokens } from "./pagetoken.js";
import { jsonFieldPath } from "./violations.js";

describe("config", () => {
  it("has defaults for the embedded mode", () => {
    const c = loadConfig({});
    assert.equal(c.FEEDMESH_TARGET, "all");
    assert.equal(c.FEEDMESH_HTTP_ADDR, "127.0.0.1:8080");
    assert.equal(c.FEEDMESH_ACCESS_TOKEN_TTL, 15 * 60_000);
  });
  it("names every bad variable", () => {
    assert.throws(
      () => loadConfig({ FEEDMESH_HTTP_ADDR: "8080", FEEDMESH_TARGET: "everything", FEEDMESH_ACCESS_TOKEN_TTL: "soon" }),
      (err: Error) =>
        err instanceof ConfigError &&
        /FEEDMESH_HTTP_ADDR="8080"/.test(err.message) &&
        /FEEDMESH_TARGET="everything"/.test(err.message) &&
        /FEEDMESH_ACCESS_TOKEN_TTL="soon"/.test(err.message),
    );
    assert.throws(() => loadConfig({ FEEDMESH_GRPC_ADDR: "127.0.0.1:70000" }), /port must be at most 65535/);
    assert.throws(() => loadConfig({ FEEDMESH_SECRET: "short" }), /FEEDMESH_SECRET/);
  });
});

describe("ids", () => {
  it("are unique, increasing and carry their time", () => {
    const gen = new IdGenerator(7);
    const now = Date.now();
    const made = Array.from({ length: 10_000 }, () => gen.next(now));
    assert.equal(new Set(made).size, made.length);
    for (let i = 1; i < made.length; i++) assert.ok(compareIds(made[i - 1]!, made[i]!) < 0);
    assert.ok(Math.abs(idTime(made[0]!) - now) <= 5);
  });
  it("stay increasing when the clock goes back", () => {
    const gen = new IdGenerator(1);
    const a = gen.next(2_000_000_000_000);
    const b = gen.next(1_999_999_999_000);
    assert.ok(compareIds(a, b) < 0);
  });
});

describe("page tokens", () => {
  const tokens = new PageTokens(Buffer.alloc(32, 1));
  it("round-trip within their scope only", () => {
    const t = tokens.encode("feed:1", { p: "42" });
    assert.deepEqual(tokens.decode("feed:1", t), { p: "42" });
    assert.equal(tokens.decode("feed:1", ""), null);
    assert.throws(() => tokens.decode("feed:2", t), /page_token/);
    assert.throws(() => new PageTokens(Buffer.alloc(32, 2)).decode("feed:1", t), /page_token/);
  });
  it("refuse tampering and garbage", () => {
    const t = tokens.encode("s", { p: "1" });
    const [, sig] = t.split(".");
    assert.throws(() => tokens.decode("s", `${Buffer.from('{"p":"2"}').toString("base64url")}.${sig}`), /page_token/);
    for (const bad of ["x", "a.b.c", ".", "%%%.%%%", `${t}x`]) assert.throws(() => tokens.decode("s", bad), /page_token/);
  });
});

describe("field paths for JSON clients", () => {
  it("renames each step of a proto-name path along the request's message, keeping what names no field", () => {
    const complete = CompleteUploadRequestSchema;
    assert.equal(jsonFieldPath(complete, "media_id"), "mediaId");
    assert.equal(jsonFieldPath(complete, "parts[3].part_number"), "parts[3].partNumber");
    assert.equal(jsonFieldPath(complete, "parts[0].etag"), "parts[0].etag");
    assert.equal(jsonFieldPath(complete, "no_such_field.part_number"), "no_such_field.part_number");
    assert.equal(jsonFieldPath(complete, 'parts["a.b"].part_number'), 'parts["a.b"].partNumber');
    assert.equal(jsonFieldPath(complete, "mediaId"), "mediaId", "a JSON name stays as it is");
  });
});
