// Search end to end on the embedded backends (the flows are in search.suite.ts).
import { searchSuite } from "./search.suite.js";

searchSuite("embedded", {});
