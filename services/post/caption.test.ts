import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashtags, mentions } from "./caption.js";

describe("caption parsing", () => {
  it("finds hashtags, lowercase, unique, in order", () => {
    assert.deepEqual(hashtags("Sunset #Beach and #beach #Été_2026, not a#tag or &#38;"), ["beach", "été_2026"]);
  });
  it("finds mentions but not emails", () => {
    assert.deepEqual(mentions("with @Alice.B and @bob. mail me at x@y.com"), ["alice.b", "bob"]);
  });
});
