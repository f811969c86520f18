// Notifications end to end on the embedded backends (the flows are in notification.suite.ts).
import { notificationSuite } from "./notification.suite.js";

notificationSuite("embedded", {});
