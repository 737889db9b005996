/**
 * `SymphonyService`, an AWS CDK construct that deploys a host app with Symphony attached on ECS
 * Fargate, and the parts it is made of.
 * @module symphony-collab/cdk
 */
export { SymphonyService, CONTAINER_NAME, DASHBOARD_PATH } from './symphony-service.js';
export type { SymphonyServiceProps, DatabaseSslMode } from './props.js';
export {
  DEFAULT_CPU,
  DEFAULT_MEMORY_LIMIT_MIB,
  DEFAULT_MIN_TASKS,
  DEFAULT_MAX_TASKS,
  DEFAULT_TARGET_CPU_UTILIZATION_PERCENT,
  DEFAULT_CONTAINER_PORT,
  DEFAULT_HEALTH_CHECK_PATH,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_DOCUMENT_PREFIX,
} from './props.js';
export { ENVIRONMENT_VARIABLE_NAMES, SECRET_VARIABLE_NAMES } from './container-environment.js';
export { SymphonyRedis, type RedisProps } from './redis.js';
export { SymphonyDatabase, type DatabaseProps } from './database.js';
export { SymphonyLoadBalancer, type LoadBalancerProps } from './load-balancer.js';
export { ROOM_REGISTRY_PARTITION_KEY, ROOM_REGISTRY_SORT_KEY, ROOM_REGISTRY_TTL_ATTRIBUTE } from './storage.js';
