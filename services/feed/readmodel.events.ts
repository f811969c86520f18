// The feed's consumer of the events that change what its read model holds (group "feed-model").
// The services write the read model themselves before their calls return (readmodel.safe.ts); this
// consumer applies the same changes again from the events, in order per key and retried until
// the read model takes them, so a write lost to a Redis outage is repaired once Redis is back.
// Each change is idempotent (a tombstone, a forgotten body, a set membership).
import type { Delivery } from "../platform/events.js";
import type { SafeReadModel } from "./readmodel.safe.js";

export class ReadModelEvents {
  constructor(private readonly model: SafeReadModel) {}

  async onPost({ event }: Delivery<"posts">): Promise<void> {
    const e = event.event;
    if (e.case === "created") {
      const entry = { postId: e.value.postId, authorId: e.value.authorId };
      await this.model.strict((m) => m.timelineAdd(entry));
    } else if (e.case === "edited") {
      await this.model.strict((m) => m.forgetPost(e.value.postId)); // the next read fetches the edited post
    } else if (e.case === "deleted") {
      const entry = { postId: e.value.postId, authorId: e.value.authorId };
      await this.model.strict(async (m) => {
        await m.deletePost(entry.postId);
        await m.timelineRemove(entry);
      });
    }
  }

  async onFollow({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    if (e.case === "followed") {
      const { followerId, followeeId } = e.value;
      await this.model.strict(async (m) => {
        await m.unhideAuthor(followerId, followeeId);
        await m.celebritiesChanged(followerId);
      });
    } else if (e.case === "unfollowed") {
      const { followerId, followeeId } = e.value;
      await this.model.strict(async (m) => {
        await m.hideAuthor(followerId, followeeId);
        await m.celebritiesChanged(followerId);
      });
    } else if (e.case === "celebrityDemoting" || e.case === "celebrityBackfilled") {
      await this.model.strict((m) => m.celebrityStatesChanged());
    }
  }

  async onUser({ event }: Delivery<"users">): Promise<void> {
    if (event.event.case === "updated") {
      const userId = event.event.value.userId;
      await this.model.strict((m) => m.dropUser(userId));
    }
  }

  async onEngagement({ event }: Delivery<"engagement">): Promise<void> {
    const e = event.event;
    if (e.case === "liked" || e.case === "unliked") {
      const { postId, userId } = e.value;
      await this.model.strict((m) => m.putLiked(userId, [{ postId, liked: e.case === "liked" }], false));
    }
  }
}
