// The engagement module. Its contract is final; its implementation is not built yet, so every RPC
// answers UNIMPLEMENTED with a message saying so (see docs/architecture.md, "Status").
import { EngagementService } from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import { notYetBuilt, type ServiceModule } from "../platform/service.js";

export function engagementModule(): ServiceModule {
  return {
    name: "engagement",
    services: [notYetBuilt(EngagementService, "the engagement service is planned but not built in this release")],
  };
}
