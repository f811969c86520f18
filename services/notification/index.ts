// The notification module. Its contract is final; its implementation is not built yet, so every RPC
// answers UNIMPLEMENTED with a message saying so (see docs/architecture.md, "Status").
import { NotificationService } from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { notYetBuilt, type ServiceModule } from "../platform/service.js";

export function notificationModule(): ServiceModule {
  return {
    name: "notification",
    services: [notYetBuilt(NotificationService, "the notification service is planned but not built in this release")],
  };
}
