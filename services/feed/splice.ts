// A GetHomeFeedResponse built from stored bytes: each FeedItem's post and author are the
// feedmesh.post.v1.Post and feedmesh.identity.v1.User bytes the read model holds, copied into the
// response without decoding them (protobuf-es would decode and re-encode every post of a page).
// Binary callers get the items as the message's unknown fields, which toBinary writes verbatim;
// JSON callers get them decoded.
import { create, fromBinary, type UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { HandlerContext } from "@connectrpc/connect";
import { type GetHomeFeedResponse, GetHomeFeedResponseSchema } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { withEncoding } from "../platform/encoded.js";

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

/** The encoded page: the whole GetHomeFeedResponse, and each item's field (length prefix first) within it. */
export interface EncodedPage {
  body: Buffer;
  items: Buffer[];
}

/** GetHomeFeedResponse bytes from the items' stored bytes and the page token, written into one buffer. */
export function encodePage(items: ItemBytes[], nextPageToken: string): EncodedPage {
  const ids = items.map((it) => Buffer.from(it.postId, "latin1"));
  const sizes = items.map((it, k) => {
    const c = it.counters;
    const id = ids[k]!;
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
    return { counters, size };
  });
  const token = Buffer.from(nextPageToken);
  const total = sizes.reduce((n, s) => n + 1 + vlen(s.size) + s.size, 0) + (token.length > 0 ? 1 + vlen(token.length) + token.length : 0);
  const body = Buffer.allocUnsafe(total);
  const out: Buffer[] = [];
  let off = 0;
  items.forEach((it, k) => {
    const { counters, size } = sizes[k]!;
    body[off++] = 0x0a;
    const start = off;
    off = varint(body, off, size);
    off = bytesField(body, off, 0x0a, it.post);
    if (it.user) off = bytesField(body, off, 0x12, it.user);
    const c = it.counters;
    if (c) {
      body[off++] = 0x1a;
      off = varint(body, off, counters);
      off = bytesField(body, off, 0x0a, ids[k]!);
      if (c.likes > 0) {
        body[off++] = 0x10;
        off = varint(body, off, c.likes);
      }
      if (c.comments > 0) {
        body[off++] = 0x18;
        off = varint(body, off, c.comments);
      }
      if (c.liked) {
        body[off++] = 0x20;
        body[off++] = 1;
      }
    }
    out.push(body.subarray(start, off));
  });
  if (token.length > 0) off = bytesField(body, off, 0x12, token);
  if (off !== total) throw new Error(`encodePage: wrote ${off} of ${total} bytes`);
  return { body, items: out };
}

const BINARY = /^application\/(grpc|grpc\+proto|grpc-web|grpc-web\+proto|proto|connect\+proto)$/;

/** Whether the call's response goes out as binary protobuf (so stored bytes can be spliced in). */
export function binaryWire(ctx: HandlerContext): boolean {
  const type = ctx.requestHeader.get("content-type");
  return type !== null && BINARY.test(type.split(";")[0]!.trim());
}

/**
 * The response. Binary callers: the items as the message's unknown fields (connect-node writes
 * them verbatim) and the whole encoding attached (the grpc-js adapter sends it as is). JSON
 * callers: the page decoded.
 */
export function homeFeedResponse(page: EncodedPage, nextPageToken: string, binary: boolean): GetHomeFeedResponse {
  if (!binary) return fromBinary(GetHomeFeedResponseSchema, page.body);
  const res = create(GetHomeFeedResponseSchema, { nextPageToken });
  if (page.items.length > 0) res.$unknown = page.items.map((data): UnknownField => ({ no: 1, wireType: WireType.LengthDelimited, data }));
  return withEncoding(res, page.body);
}
