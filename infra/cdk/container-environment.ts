import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { DatabaseSslMode } from './props.js';

/**
 * The container's configuration contract: the variables Symphony's cluster mode reads. The same
 * image runs locally with these set by hand (or `DATABASE_URL` instead of the PG* variables).
 *
 * Not set here on purpose:
 * - `SYMPHONY_NODE_URL`: each node derives its own internal URL from the ECS task metadata
 *   endpoint (`ECS_CONTAINER_METADATA_URI_V4`, set by Fargate).
 * - `AWS_REGION`: set by Fargate.
 */
export const ENVIRONMENT_VARIABLE_NAMES = [
  'PORT',
  'HOST',
  'REDIS_URL',
  'SYMPHONY_S3_BUCKET',
  'SYMPHONY_S3_PREFIX',
  'SYMPHONY_DYNAMODB_TABLE',
  'PGHOST',
  'PGPORT',
  'PGDATABASE',
  'PGSSLMODE',
] as const;

/** Passed as ECS secrets: the agent reads them from Secrets Manager at task start. */
export const SECRET_VARIABLE_NAMES = ['PGUSER', 'PGPASSWORD', 'SYMPHONY_CLUSTER_SECRET', 'SYMPHONY_ADMIN_TOKEN'] as const;

export interface ServiceEndpoints {
  readonly containerPort: number;
  /** `rediss://host:port`: TLS, because the replication group encrypts in transit. */
  readonly redisUrl: string;
  readonly bucketName: string;
  readonly documentPrefix: string;
  readonly tableName: string;
  readonly databaseHost: string;
  readonly databasePort: string;
  readonly databaseName: string;
  readonly databaseSslMode: DatabaseSslMode;
}

export interface ServiceSecrets {
  /** The RDS-generated secret: JSON with `username` and `password`. */
  readonly databaseSecret: secretsmanager.ISecret;
  readonly clusterSecret: secretsmanager.ISecret;
  readonly adminToken: secretsmanager.ISecret;
}

type EnvironmentName = (typeof ENVIRONMENT_VARIABLE_NAMES)[number];
type SecretName = (typeof SECRET_VARIABLE_NAMES)[number];

export function containerEnvironment(e: ServiceEndpoints, extra: Record<string, string>): Record<string, string> {
  const environment: Record<EnvironmentName, string> = {
    PORT: String(e.containerPort),
    // All interfaces: the ALB and the other nodes reach the task on its VPC address.
    HOST: '0.0.0.0',
    REDIS_URL: e.redisUrl,
    SYMPHONY_S3_BUCKET: e.bucketName,
    SYMPHONY_S3_PREFIX: e.documentPrefix,
    SYMPHONY_DYNAMODB_TABLE: e.tableName,
    PGHOST: e.databaseHost,
    PGPORT: e.databasePort,
    PGDATABASE: e.databaseName,
    PGSSLMODE: e.databaseSslMode,
  };
  return withExtra(environment, extra, 'environment');
}

export function containerSecrets(s: ServiceSecrets, extra: Record<string, ecs.Secret>): Record<string, ecs.Secret> {
  const secrets: Record<SecretName, ecs.Secret> = {
    PGUSER: ecs.Secret.fromSecretsManager(s.databaseSecret, 'username'),
    PGPASSWORD: ecs.Secret.fromSecretsManager(s.databaseSecret, 'password'),
    SYMPHONY_CLUSTER_SECRET: ecs.Secret.fromSecretsManager(s.clusterSecret),
    SYMPHONY_ADMIN_TOKEN: ecs.Secret.fromSecretsManager(s.adminToken),
  };
  return withExtra(secrets, extra, 'secrets');
}

const RESERVED_NAMES = new Set<string>([...ENVIRONMENT_VARIABLE_NAMES, ...SECRET_VARIABLE_NAMES]);
const PROP_FOR_NAME: Record<string, string> = {
  PORT: 'containerPort',
  SYMPHONY_S3_PREFIX: 'documentPrefix',
  PGDATABASE: 'databaseName',
  PGSSLMODE: 'databaseSslMode',
};

/** A developer's variable may not silently replace one the cluster mode depends on. */
function withExtra<T>(base: Record<string, T>, extra: Record<string, T>, prop: string): Record<string, T> {
  for (const name of Object.keys(extra)) {
    if (RESERVED_NAMES.has(name)) {
      const hint = PROP_FOR_NAME[name] ? `; set the "${PROP_FOR_NAME[name]}" prop instead` : '';
      throw new Error(`SymphonyService: "${prop}.${name}" is set by the construct from the resources it creates${hint}`);
    }
  }
  return { ...base, ...extra };
}
