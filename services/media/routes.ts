// MediaService handlers: proto in, domain call, proto out; the blob store's refusals become RPC
// codes here (never INTERNAL).
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import {
  type Media as MediaMessage,
  MediaSchema,
  type MediaService,
  type MediaState,
} from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { actingUser, viewer } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import { Code, ConnectError, failedPrecondition, invalidField } from "../platform/errors.js";
import { BlobRequestError } from "./blob.js";
import type { Media, Viewer } from "./media.js";
import type { MediaRecord } from "./store.js";

/** What a refusal of the blob store means for the caller. */
export function fromBlobError(err: unknown): unknown {
  if (!(err instanceof BlobRequestError)) return err;
  switch (err.code) {
    case "InvalidPart":
      return failedPrecondition("the upload cannot be completed: a part was not uploaded, or its ETag does not match");
    case "EntityTooSmall":
      return failedPrecondition("the upload cannot be completed: a part other than the last is smaller than 5 MiB");
    case "NoSuchUpload":
      return failedPrecondition("the multipart upload no longer exists (it was completed or aborted)");
    case "InvalidPartOrder":
      return invalidField("parts", "must be in ascending part-number order");
    default:
      return new ConnectError(`the object store refused the request (${err.code})`, Code.InvalidArgument);
  }
}

async function mapped<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromBlobError(err);
  }
}

export function mediaRoutes(media: Media, clients: Clients, auth: CallAuth): ServiceImpl<typeof MediaService> {
  /** The reader of this call; which owners it may see is the graph's answer, asked as that user. */
  function reader<U extends string | null>(ctx: HandlerContext, userId: U): Viewer & { userId: U } {
    return {
      userId,
      async visibleOwners(ownerIds) {
        if (ownerIds.length === 0) return new Set();
        const { relationships } = await clients.graph.batchGetRelationships({ userIds: ownerIds }, auth.asUser(ctx));
        return new Set(relationships.filter((r) => !r.targetPrivate || r.outgoing === FollowState.FOLLOWING).map((r) => r.userId));
      },
    };
  }

  async function toMedia(m: MediaRecord): Promise<MediaMessage> {
    const variants = await media.variants(m);
    return create(MediaSchema, {
      mediaId: m.mediaId,
      ownerId: m.ownerId,
      kind: m.kind,
      contentType: m.contentType,
      sizeBytes: BigInt(m.sizeBytes),
      state: m.state as MediaState,
      variants: variants.map((v) => ({ name: v.name, width: v.width, height: v.height, contentType: v.contentType, url: v.url })),
      createTime: timestampFromMs(m.createTime),
    });
  }

  return {
    createUpload: (req, ctx) =>
      mapped(async () => {
        const t = await media.createUpload(actingUser(ctx), {
          contentType: req.contentType,
          sizeBytes: Number(req.sizeBytes),
          sha256: req.sha256,
        });
        return {
          mediaId: t.media.mediaId,
          uploadUrl: t.url,
          uploadHeaders: t.headers,
          parts: t.parts.map((p) => ({ partNumber: p.partNumber, url: p.url, sizeBytes: BigInt(p.sizeBytes) })),
          expireTime: timestampFromMs(t.expireTime),
        };
      }),
    completeUpload: (req, ctx) =>
      mapped(async () => {
        const parts = req.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
        return { media: await toMedia(await media.complete(reader(ctx, actingUser(ctx)), req.mediaId, parts)) };
      }),
    getMedia: (req, ctx) => mapped(async () => ({ media: await toMedia(await media.get(reader(ctx, viewer(ctx)), req.mediaId)) })),
    batchGetMedia: (req, ctx) =>
      mapped(async () => ({ media: await Promise.all((await media.getMany(reader(ctx, viewer(ctx)), req.mediaIds)).map(toMedia)) })),
  };
}
