import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, passwordViolations, verifyPassword } from "./password.js";

describe("passwords", () => {
  it("hash with a salt and verify", async () => {
    const a = await hashPassword("Harbour-Lights-9");
    const b = await hashPassword("Harbour-Lights-9");
    assert.notEqual(a, b);
    assert.match(a, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword("Harbour-Lights-9", a), true);
    assert.equal(await verifyPassword("harbour-lights-9", a), false);
    assert.equal(await verifyPassword("x", "garbage"), false);
  });
  it("apply the policy", () => {
    assert.deepEqual(passwordViolations("Harbour-Lights-9", "alice", "alice@example.com"), []);
    assert.equal(passwordViolations("alllowercaseletters", "bob", "bob@example.com").length, 1);
    assert.ok(passwordViolations("alice-Rocks-2026", "alice", "a@example.com").length >= 1);
    assert.ok(passwordViolations("aaaaaaaaaa1A", "bob", "bob@example.com").length >= 1);
  });
});
