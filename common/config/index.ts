/**
 * Typed configuration from environment variables, for the P2P node and the
 * proxy. Parse once in a main.ts (`loadConfigOrExit(parseNodeConfig)`) and pass
 * the object down. Every variable, its default and what it accepts:
 * ./README.md (generated from `ENV_VARS`).
 */
export type {
  AuthProviderConfig,
  Env,
  GossipsubConfig,
  MeshConfig,
  NodeConfig,
  NodeLimits,
  NodeMode,
  OptimumConfig,
  P2PNodeAddress,
  ProxyConfig,
  RedisMode,
  ProxyEdgeConfig,
  DurablePublishConfig,
  WebhookConfig,
} from './types.js'
export { ConfigError } from './error.js'
export { formatHostPort, parseNodeConfig, parseProxyConfig } from './parse.js'
export { loadConfigOrExit, readEnv, type ReadEnvOptions } from './env.js'
export { ENV_VARS, type EnvGroup, type EnvVarDoc } from './variables.js'
export { renderEnvTable } from './docs.js'
