/**
 * Every module localfargate composes, in the order it composes them: a module may `need` only
 * what an earlier one provides (the app checks), due work runs in this order and shutdown in the
 * reverse. STS comes before IAM because IAM looks sessions up; STS reaches IAM per request.
 */
import type { ServiceModule } from "../kernel/service.ts";
import { secretsModule } from "../services/iam/secrets.ts";
import { stsModule } from "../services/sts/index.ts";
import { iamModule } from "../services/iam/index.ts";
import { organizationsModule } from "../services/organizations/index.ts";
import { s3Module } from "../services/s3/index.ts";
import { cloudTrailModule } from "../services/cloudtrail/index.ts";
import { kmsModule } from "../services/kms/index.ts";
import { ecsModule } from "../services/ecs/index.ts";
import { logsModule } from "../services/logs/index.ts";
import { secretsManagerModule } from "../services/secretsmanager/index.ts";
import { ssmModule } from "../services/ssm/index.ts";

export const MODULES: readonly ServiceModule[] = [
  secretsModule,
  stsModule,
  iamModule,
  organizationsModule,
  s3Module,
  cloudTrailModule,
  kmsModule,
  secretsManagerModule,
  ssmModule,
  logsModule,
  ecsModule,
];
