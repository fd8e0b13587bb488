/**
 * Image names as task definitions write them, normalised the way Docker does
 * (https://docs.docker.com/reference/cli/docker/image/tag/#description): no registry means
 * Docker Hub (`docker.io`), a one-part Docker Hub name lives under `library/`, no tag and no
 * digest means `:latest`. The first path part is a registry only when it has a `.` or a `:` or is
 * `localhost`. Amazon ECR names (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>`) are recognised
 * with their account and region (https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html).
 */

export interface ImageRef {
  /** the registry host (and port), e.g. `docker.io`, `registry.example:5000` */
  readonly registry: string;
  /** the repository path inside the registry, e.g. `library/busybox`, `team/app` */
  readonly repository: string;
  /** the tag, `latest` when neither a tag nor a digest was given; undefined for a digest-only name */
  readonly tag?: string;
  /** `sha256:<64 hex>` when the name pins a digest */
  readonly digest?: string;
  /** the fully qualified name: `docker.io/library/busybox:latest`, `r/x@sha256:…` */
  readonly normalized: string;
  /** the name as given */
  readonly original: string;
  /** set when the registry is an Amazon ECR private registry */
  readonly ecr?: { readonly accountId: string; readonly region: string };
}

export class InvalidImageRefError extends Error {
  constructor(
    readonly image: string,
    reason: string,
  ) {
    super(`invalid image name ${JSON.stringify(image)}: ${reason}`);
    this.name = "InvalidImageRefError";
  }
}

const DOCKER_HUB = "docker.io";
const MAX_NAME_LENGTH = 255;
const DOMAIN_LABEL = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const ECR_REGISTRY = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/;

function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf("/");
  if (slash < 0) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") return { registry: first, path: name.slice(slash + 1) };
  return { registry: DOCKER_HUB, path: name };
}

/** Parses and normalises an image name; throws InvalidImageRefError with the reason. */
export function parseImageRef(image: string): ImageRef {
  const fail = (reason: string): never => {
    throw new InvalidImageRefError(image, reason);
  };
  if (typeof image !== "string" || image.length === 0) fail("the name is empty");
  if (image.length > 4096) fail("the name is too long");
  if (/\s/.test(image)) fail("the name contains white space");
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail("a digest must be sha256: followed by 64 lowercase hex digits");
  }
  const { registry: given, path: pathAndTag } = splitRegistry(rest);
  let path = pathAndTag;
  let tag: string | undefined;
  const colon = pathAndTag.lastIndexOf(":");
  if (colon >= 0) {
    tag = pathAndTag.slice(colon + 1);
    path = pathAndTag.slice(0, colon);
    if (!TAG.test(tag)) fail("a tag is up to 128 letters, digits, _ . - and does not start with . or -");
  }
  if (!DOMAIN.test(given)) fail(`${JSON.stringify(given)} is not a registry host[:port]`);
  if (path === "") fail("the repository name is empty");
  if (path !== path.toLowerCase()) fail("the repository name must be lowercase");
  for (const part of path.split("/")) {
    if (!PATH_COMPONENT.test(part)) fail(`${JSON.stringify(part)} is not a valid repository name component (lowercase letters, digits and single separators . _ __ -)`);
  }
  const registry = given === "index.docker.io" ? DOCKER_HUB : given;
  const repository = registry === DOCKER_HUB && !path.includes("/") ? `library/${path}` : path;
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) fail(`the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  const name = `${registry}/${repository}`;
  const normalized = digest !== undefined ? `${name}@${digest}` : `${name}:${tag}`;
  const ecrMatch = ECR_REGISTRY.exec(registry);
  return {
    registry,
    repository,
    ...(digest !== undefined ? { digest } : { tag }),
    // a name with both a tag and a digest is pulled by its digest (Docker ignores the tag)
    normalized,
    original: image,
    ...(ecrMatch ? { ecr: { accountId: ecrMatch[1], region: ecrMatch[2] } } : {}),
  };
}
