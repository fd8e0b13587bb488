export {
  AwsvpcNetworking,
  CREDENTIALS_ENDPOINT_ADDRESS,
  NetworkingUnavailableError,
  probeNetworking,
  type AwsvpcOptions,
  type CreateTaskNetworkOptions,
  type InternetHealth,
  type NetworkProbe,
  type RedirectTarget,
  type TaskNetwork,
} from "./awsvpc.ts";
export { AddressExhaustedError } from "./allocator.ts";
