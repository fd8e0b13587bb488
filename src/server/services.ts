/** Every service localfargate runs, in start-up order. */
import type { ServiceFactory } from "./app.ts";
import { legacyFactory } from "../kernel/legacy-operation.ts";
import { createStsService } from "../services/sts/index.ts";
import { createIamService } from "../services/iam/index.ts";
import { createS3Service } from "../services/s3/index.ts";
import { createCloudTrailService } from "../services/cloudtrail/index.ts";
import { createEcsService } from "../services/ecs/index.ts";
import { createKmsService } from "../services/kms/index.ts";

export const SERVICE_FACTORIES: ServiceFactory[] = [
  legacyFactory(createStsService),
  legacyFactory(createIamService),
  legacyFactory(createS3Service),
  legacyFactory(createCloudTrailService),
  legacyFactory(createKmsService),
  legacyFactory(createEcsService),
];
