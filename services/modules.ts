// Every module of the program, by target name; main.ts chooses which to start.
import { engagementModule } from "./engagement/index.js";
import { fanoutModule } from "./fanout/index.js";
import { feedModule } from "./feed/index.js";
import { graphModule } from "./graph/index.js";
import { identityModule } from "./identity/index.js";
import { mediaModule } from "./media/index.js";
import { notificationModule } from "./notification/index.js";
import type { ModuleFactory } from "./platform/app.js";
import type { Target } from "./platform/config.js";
import { postModule } from "./post/index.js";
import { searchModule } from "./search/index.js";

export const MODULES: Record<Exclude<Target, "all">, ModuleFactory> = {
  identity: identityModule,
  graph: graphModule,
  post: postModule,
  media: mediaModule,
  feed: feedModule,
  fanout: fanoutModule,
  engagement: engagementModule,
  notification: notificationModule,
  search: searchModule,
};
