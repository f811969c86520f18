// A GetHomeFeedResponse built from stored bytes: each FeedItem's post and author are the
// feedmesh.post.v1.Post and feedmesh.identity.v1.User bytes the read model holds, copied into the
// response without decoding them (protobuf-es would decode and re-encode every post of a page).
// Binary callers get the items as the message's unknown fields, which toBinary writes verbatim;
// JSON callers get them decoded.
import { create, fromBinary, type UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { HandlerContext } from "@connectrpc/connect";
import { type GetHomeFeedResponse, GetHomeFeedResponseSchema } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";

export interface ItemBytes {
  postId: string;
  post: Uint8Array;
  user: Uint8Array | null;
  /** Null when the counts are not known (the engagement service did not answer). */
  counters: { likes: number; comments: number; liked: boolean } | null;
}

const vlen = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function varint(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

function bytesField(buf: Buffer, off: number, tag: number, data: Uint8Array): number {
  buf[off++] = tag;
  off = varint(buf, off, data.length);
  buf.set(data, off);
  return off + data.length;
}

/** Each item as a length-delimited FeedItem body (its length prefix first, as an unknown field holds it). */
export function encodeItems(items: ItemBytes[]): Buffer[] {
  return items.map((it) => {
    const id = Buffer.from(it.postId, "latin1");
    const c = it.counters;
    const counters = c
      ? 1 +
        vlen(id.length) +
        id.length +
        (c.likes > 0 ? 1 + vlen(c.likes) : 0) +
        (c.comments > 0 ? 1 + vlen(c.comments) : 0) +
        (c.liked ? 2 : 0)
      : -1;
    const size =
      1 +
      vlen(it.post.length) +
      it.post.length +
      (it.user ? 1 + vlen(it.user.length) + it.user.length : 0) +
      (c ? 1 + vlen(counters) + counters : 0);
    const buf = Buffer.allocUnsafe(vlen(size) + size);
    let off = varint(buf, 0, size);
    off = bytesField(buf, off, 0x0a, it.post);
    if (it.user) off = bytesField(buf, off, 0x12, it.user);
    if (c) {
      buf[off++] = 0x1a;
      off = varint(buf, off, counters);
      off = bytesField(buf, off, 0x0a, id);
      if (c.likes > 0) {
        buf[off++] = 0x10;
        off = varint(buf, off, c.likes);
      }
      if (c.comments > 0) {
        buf[off++] = 0x18;
        off = varint(buf, off, c.comments);
      }
      if (c.liked) {
        buf[off++] = 0x20;
        buf[off++] = 1;
      }
    }
    if (off !== buf.length) throw new Error(`encodeItems: wrote ${off} of ${buf.length} bytes`);
    return buf;
  });
}

const BINARY = /^application\/(grpc|grpc\+proto|grpc-web|grpc-web\+proto|proto|connect\+proto)$/;

/** Whether the call's response goes out as binary protobuf (so stored bytes can be spliced in). */
export function binaryWire(ctx: HandlerContext): boolean {
  const type = ctx.requestHeader.get("content-type");
  return type !== null && BINARY.test(type.split(";")[0]!.trim());
}

/** The response: items spliced as unknown fields for binary callers, decoded for the others. */
export function homeFeedResponse(items: Buffer[], nextPageToken: string, binary: boolean): GetHomeFeedResponse {
  const res = create(GetHomeFeedResponseSchema, { nextPageToken });
  if (items.length === 0) return res;
  const unknown: UnknownField[] = items.map((data) => ({ no: 1, wireType: WireType.LengthDelimited, data }));
  if (binary) {
    res.$unknown = unknown;
    return res;
  }
  const decoded = fromBinary(GetHomeFeedResponseSchema, Buffer.concat(items.flatMap((data) => [Buffer.of(0x0a), data])));
  decoded.nextPageToken = nextPageToken;
  return decoded;
}
