// The hybrid feed on the embedded backends (in-process cache, SQLite, the outbox bus).
import { hybridFeedSuite } from "./feed.suite.js";

hybridFeedSuite("embedded", {});
