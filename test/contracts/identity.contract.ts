// The IdentityStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IdentityStore, UniqueViolation, type UserRecord } from "../../services/identity/store.js";
import { encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";

export function identityStoreContract(name: string, open: () => Promise<IdentityStore>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    const gen = new IdGenerator(17);
    const user = (): UserRecord => {
      const id = gen.next();
      return {
        userId: id,
        username: `u${id}`,
        email: `u${id}@example.com`,
        displayName: "U",
        bio: "",
        avatarMediaId: "",
        private: false,
        passwordHash: "scrypt$x",
        createTime: Date.now(),
      };
    };
    const ev = (u: UserRecord) => encodeEvent("users", u.userId, { event: { case: "created", value: { userId: u.userId } } });

    it("creates users with a unique username and email", async () => {
      const store = await open();
      const u = user();
      await store.createUser(u, ev(u));
      assert.deepEqual(await store.getUser(u.userId), u);
      const sameName = { ...user(), username: u.username };
      await assert.rejects(
        store.createUser(sameName, ev(sameName)),
        (e: unknown) => e instanceof UniqueViolation && e.field === "username",
      );
      const sameMail = { ...user(), email: u.email };
      await assert.rejects(store.createUser(sameMail, ev(sameMail)), (e: unknown) => e instanceof UniqueViolation && e.field === "email");
      // The failed attempt released its username: it can be used.
      const retry = { ...user(), username: sameMail.username };
      await store.createUser(retry, ev(retry));
      assert.equal((await store.findByLogin(u.username))?.userId, u.userId);
      assert.equal((await store.findByLogin(u.email))?.userId, u.userId);
      assert.equal(await store.findByLogin("nobody-at-all"), undefined);
      assert.deepEqual((await store.getUsers([retry.userId, "42", u.userId])).map((x) => x.userId).sort(), [u.userId, retry.userId].sort());
    });

    it("scans every user id a page at a time, each once", async () => {
      const store = await open();
      const made = new Set<string>();
      for (let i = 0; i < 7; i++) {
        const u = user();
        await store.createUser(u, ev(u));
        made.add(u.userId);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { ids: string[]; next: string | null } = await store.scanUserIds(3, cursor);
        assert.ok(page.ids.length <= 3);
        seen.push(...page.ids);
        cursor = page.next;
      } while (cursor !== null);
      assert.equal(new Set(seen).size, seen.length, "no id twice");
      for (const id of made) assert.ok(seen.includes(id), `${id} scanned`);
    });

    it("updates a profile and the private flag", async () => {
      const store = await open();
      const u = user();
      await store.createUser(u, ev(u));
      const updated = await store.updateProfile(u.userId, { bio: "hi" }, ev);
      assert.equal(updated?.bio, "hi");
      assert.equal((await store.getUser(u.userId))?.bio, "hi");
      assert.equal(await store.updateProfile(gen.next(), { bio: "x" }, ev), undefined);
      await store.setPrivate(u.userId, true);
      assert.equal((await store.getUser(u.userId))?.private, true);
      const ghost = gen.next();
      await store.setPrivate(ghost, true);
      assert.equal(await store.getUser(ghost), undefined);
    });

    it("revokes refresh tokens once, and by family", async () => {
      const store = await open();
      const family = `f${gen.next()}`;
      const t = (h: string) => ({ tokenHash: h, userId: "1", familyId: family, expireTime: Date.now() + 60_000, revoked: false });
      await store.saveRefreshToken(t(`${family}a`));
      await store.saveRefreshToken(t(`${family}b`));
      assert.equal((await store.getRefreshToken(`${family}a`))?.familyId, family);
      assert.equal(await store.revokeRefreshToken(`${family}a`), true);
      assert.equal(await store.revokeRefreshToken(`${family}a`), false);
      await store.revokeFamily(family);
      assert.equal((await store.getRefreshToken(`${family}b`))?.revoked, true);
    });

    it("keeps the first signing key", async () => {
      const store = await open();
      const key = (kid: string) => ({ kid, privateJwk: "{}", publicJwk: "{}", createTime: Date.now() });
      const first = await store.addSigningKeyIfNone(key(`k${gen.next()}`));
      const again = await store.addSigningKeyIfNone(key(`k${gen.next()}`));
      assert.ok(first.length >= 1);
      assert.equal(again[0]?.kid, first[0]?.kid);
    });
  });
}
