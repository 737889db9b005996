/**
 * Any of these variables turns cluster mode on (and then all three are required). Kept apart from
 * the cluster modules so checking for cluster mode loads neither the AWS SDK nor ioredis.
 */
export const CLUSTER_VARIABLES = ['REDIS_URL', 'SYMPHONY_S3_BUCKET', 'SYMPHONY_DYNAMODB_TABLE'] as const;

/** True when the environment asks for cluster mode; `clusterFromEnvironment` (in 'symphony-collab/cluster') then builds it. */
export function isClusterConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return CLUSTER_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
}
