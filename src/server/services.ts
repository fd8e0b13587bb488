/** Every service localfargate runs, in start-up order. */
import type { ServiceFactory } from "./app.ts";
import { createStsService } from "../services/sts/index.ts";

export const SERVICE_FACTORIES: ServiceFactory[] = [createStsService];
