// The media module. Its contract is final; its implementation is not built yet, so every RPC
// answers UNIMPLEMENTED with a message saying so (see docs/architecture.md, "Status").
import { MediaService } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { notYetBuilt, type ServiceModule } from "../platform/service.js";

export function mediaModule(): ServiceModule {
  return {
    name: "media",
    services: [notYetBuilt(MediaService, "the media service is planned but not built in this release")],
  };
}
