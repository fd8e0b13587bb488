/**
 * A parsed JSON document as tests read it (CloudTrail records and digests, error bodies): its
 * properties are read at any depth and handed to expect(), which checks them. This is the one
 * place tests may use `any`; code under src/ types what it parses.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type LooseJson = Record<string, any>;
