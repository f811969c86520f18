// The search module. Its contract is final; its implementation is not built yet, so every RPC
// answers UNIMPLEMENTED with a message saying so (see docs/architecture.md, "Status").
import { SearchService } from "../../gen/ts/feedmesh/search/v1/search_service_pb.js";
import { notYetBuilt, type ServiceModule } from "../platform/service.js";

export function searchModule(): ServiceModule {
  return {
    name: "search",
    services: [notYetBuilt(SearchService, "the search service is planned but not built in this release")],
  };
}
