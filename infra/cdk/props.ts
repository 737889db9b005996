import { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/** How the Postgres client verifies the RDS server (the `pg` driver's `PGSSLMODE`). */
export type DatabaseSslMode = 'no-verify' | 'verify-full';

/** Properties of `SymphonyService`; only `image` is required. */
export interface SymphonyServiceProps {
  /**
   * The host app's container image: your web app with Symphony attached. It must listen on
   * `PORT`, answer `GET /healthz` and read the cluster-mode environment variables.
   * Use `ContainerImage.fromEcrRepository(...)` for a private ECR image (it grants the pull).
   */
  readonly image: ecs.ContainerImage;

  /** Put everything in this VPC instead of creating one. @default a new VPC (see `natGateways`) */
  readonly vpc?: ec2.IVpc;
  /** NAT gateways of the VPC this construct creates; ignored when `vpc` is given. @default 1 */
  readonly natGateways?: number;

  /** Task CPU units (a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384). @default 1024 */
  readonly cpu?: number;
  /** Task memory in MiB (must be valid for `cpu` on Fargate). @default 2048 */
  readonly memoryLimitMiB?: number;
  /** CPU architecture of `image`. Build the image for it (`docker build --platform`). @default X86_64 */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** Fewest running tasks; 2 keeps the service up while one node is replaced. @default 2 */
  readonly minTasks?: number;
  /** Most running tasks that auto scaling may start. @default 10 */
  readonly maxTasks?: number;
  /** Average service CPU that target tracking holds the service at, in percent. @default 50 */
  readonly targetCpuUtilizationPercent?: number;

  /** The port the app listens on inside the container (passed as `PORT`). @default 3000 */
  readonly containerPort?: number;
  /** The app's health route: 200 while accepting connections, 503 while shutting down. @default '/healthz' */
  readonly healthCheckPath?: string;
  /** Serve HTTPS on 443 with this certificate and redirect HTTP to it. @default HTTP only */
  readonly certificate?: acm.ICertificate;
  /**
   * The host name clients use (the certificate's name, pointed at the load balancer by your DNS).
   * Only used to print the outputs. @default the load balancer's DNS name
   */
  readonly domainName?: string;
  /** Load balancer idle timeout; see `DEFAULT_IDLE_TIMEOUT`. @default 300 seconds */
  readonly idleTimeout?: Duration;
  /**
   * Time a node gets to shut down gracefully: the container's `stopTimeout` and the target
   * group's deregistration delay. At most 120 s (Fargate's limit). @default 30 seconds
   */
  readonly shutdownTimeout?: Duration;

  /** Key prefix of the documents in the bucket (`SYMPHONY_S3_PREFIX`). @default 'documents/' */
  readonly documentPrefix?: string;
  /** ElastiCache node type of the Redis primary and its replica. @default 'cache.t4g.small' */
  readonly redisNodeType?: string;
  /** RDS instance type of the metadata database. @default db.t4g.micro */
  readonly databaseInstanceType?: ec2.InstanceType;
  /** Run the metadata database with a standby in a second zone. @default true */
  readonly databaseMultiAz?: boolean;
  /** Name of the Postgres database (`PGDATABASE`). @default 'symphony' */
  readonly databaseName?: string;
  /**
   * `PGSSLMODE` for the app. RDS Postgres requires TLS. `'no-verify'` encrypts without checking the
   * server certificate, which works with any image; `'verify-full'` also checks it and needs the
   * RDS CA bundle in the image (`NODE_EXTRA_CA_CERTS`). @default 'no-verify'
   */
  readonly databaseSslMode?: DatabaseSslMode;

  /**
   * Keep the documents, the metadata database (with deletion protection and a final snapshot)
   * and the logs when the stack is deleted. `false` deletes them with the stack: for trial and
   * test stacks only. @default true
   */
  readonly retainData?: boolean;

  /** More environment variables for the app. Names the construct sets are refused. @default none */
  readonly environment?: Record<string, string>;
  /** More ECS secrets for the app. Names the construct sets are refused. @default none */
  readonly secrets?: Record<string, ecs.Secret>;
}

/**
 * Benchmark sizing: one 1-vCPU task serves about 2,000 users of the case-study mix (rooms of 4,
 * 1 update/s and 5 presence updates/s each) at the 50 % CPU target, so the defaults carry about
 * 4,000 users at the minimum of 2 tasks and about 20,000 at the maximum of 10.
 * 2 GiB leaves room for the documents loaded in memory; the case study's nodes were CPU-bound.
 */
export const DEFAULT_CPU = 1024;
/** Memory of a task, in MiB (see `DEFAULT_CPU` for the sizing). */
export const DEFAULT_MEMORY_LIMIT_MIB = 2048;
/** Two tasks, so one can fail or be replaced while the other serves (see `DEFAULT_CPU`). */
export const DEFAULT_MIN_TASKS = 2;
/** The scaling ceiling: about 20,000 users of the case-study mix (see `DEFAULT_CPU`). */
export const DEFAULT_MAX_TASKS = 10;
/** The case study's target: CPU was the bottleneck, and 50 % leaves a node headroom while new tasks start. */
export const DEFAULT_TARGET_CPU_UTILIZATION_PERCENT = 50;
/** The port the app listens on, passed as `PORT`; the examples' default. */
export const DEFAULT_CONTAINER_PORT = 3000;
/** The load balancer's health check, answered by `healthHandler` and `healthMiddleware`. */
export const DEFAULT_HEALTH_CHECK_PATH = '/healthz';
/**
 * The ALB closes a connection after this long without a byte either way. WebSocket servers ping
 * every 30 s, so a live but quiet socket is never cut, while a half-open one is reclaimed in
 * minutes (the ALB default of 60 s is too close to the ping interval for comfort).
 */
export const DEFAULT_IDLE_TIMEOUT = Duration.seconds(300);
/**
 * A node checkpoints its rooms and closes its sockets within about 10 s of SIGTERM. 30 s gives that
 * three times over before SIGKILL (`stopTimeout`), and the same 30 s deregistration delay keeps the
 * ALB from cutting sockets while a node that received SIGTERM still closes them itself.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT = Duration.seconds(30);
/** Fargate refuses a container `stopTimeout` above 120 s. */
export const MAX_SHUTDOWN_TIMEOUT = Duration.seconds(120);
/** Key prefix of the documents in the S3 bucket. */
export const DEFAULT_DOCUMENT_PREFIX = 'documents/';
export const DEFAULT_REDIS_NODE_TYPE = 'cache.t4g.small';
export const DEFAULT_DATABASE_NAME = 'symphony';

const FARGATE_CPU_UNITS = [256, 512, 1024, 2048, 4096, 8192, 16384];

/** The props with every default applied: the one place defaults live. */
export interface ResolvedProps {
  readonly image: ecs.ContainerImage;
  readonly vpc?: ec2.IVpc;
  readonly natGateways: number;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  readonly cpuArchitecture: ecs.CpuArchitecture;
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly targetCpuUtilizationPercent: number;
  readonly containerPort: number;
  readonly healthCheckPath: string;
  readonly certificate?: acm.ICertificate;
  readonly domainName?: string;
  readonly idleTimeout: Duration;
  readonly shutdownTimeout: Duration;
  readonly documentPrefix: string;
  readonly redisNodeType: string;
  readonly databaseInstanceType: ec2.InstanceType;
  readonly databaseMultiAz: boolean;
  readonly databaseName: string;
  readonly databaseSslMode: DatabaseSslMode;
  readonly retainData: boolean;
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
}

/** Applies the defaults and throws at once, with the prop's name, on a value AWS would refuse later. */
export function resolveProps(props: SymphonyServiceProps): ResolvedProps {
  if (!props || !props.image) throw new Error('SymphonyService: the "image" prop is required');
  const resolved: ResolvedProps = {
    image: props.image,
    vpc: props.vpc,
    natGateways: props.natGateways ?? 1,
    cpu: props.cpu ?? DEFAULT_CPU,
    memoryLimitMiB: props.memoryLimitMiB ?? DEFAULT_MEMORY_LIMIT_MIB,
    cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
    minTasks: props.minTasks ?? DEFAULT_MIN_TASKS,
    maxTasks: props.maxTasks ?? DEFAULT_MAX_TASKS,
    targetCpuUtilizationPercent: props.targetCpuUtilizationPercent ?? DEFAULT_TARGET_CPU_UTILIZATION_PERCENT,
    containerPort: props.containerPort ?? DEFAULT_CONTAINER_PORT,
    healthCheckPath: props.healthCheckPath ?? DEFAULT_HEALTH_CHECK_PATH,
    certificate: props.certificate,
    domainName: props.domainName,
    idleTimeout: props.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
    shutdownTimeout: props.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT,
    documentPrefix: props.documentPrefix ?? DEFAULT_DOCUMENT_PREFIX,
    redisNodeType: props.redisNodeType ?? DEFAULT_REDIS_NODE_TYPE,
    databaseInstanceType:
      props.databaseInstanceType ?? ec2.InstanceType.of(ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MICRO),
    databaseMultiAz: props.databaseMultiAz ?? true,
    databaseName: props.databaseName ?? DEFAULT_DATABASE_NAME,
    databaseSslMode: props.databaseSslMode ?? 'no-verify',
    retainData: props.retainData ?? true,
    environment: props.environment ?? {},
    secrets: props.secrets ?? {},
  };
  validate(resolved);
  return resolved;
}

function validate(p: ResolvedProps): void {
  const fail = (message: string): never => {
    throw new Error(`SymphonyService: ${message}`);
  };
  if (!FARGATE_CPU_UNITS.includes(p.cpu)) fail(`"cpu" must be one of ${FARGATE_CPU_UNITS.join(', ')}, got ${p.cpu}`);
  if (!Number.isInteger(p.memoryLimitMiB) || p.memoryLimitMiB < 512) {
    fail(`"memoryLimitMiB" must be an integer of at least 512, got ${p.memoryLimitMiB}`);
  }
  if (!Number.isInteger(p.minTasks) || p.minTasks < 1) fail(`"minTasks" must be an integer of at least 1, got ${p.minTasks}`);
  if (!Number.isInteger(p.maxTasks) || p.maxTasks < p.minTasks) {
    fail(`"maxTasks" must be an integer of at least "minTasks" (${p.minTasks}), got ${p.maxTasks}`);
  }
  if (!(p.targetCpuUtilizationPercent > 0 && p.targetCpuUtilizationPercent <= 100)) {
    fail(`"targetCpuUtilizationPercent" must be in (0, 100], got ${p.targetCpuUtilizationPercent}`);
  }
  if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
    fail(`"containerPort" must be a TCP port, got ${p.containerPort}`);
  }
  if (!p.healthCheckPath.startsWith('/')) fail(`"healthCheckPath" must start with "/", got "${p.healthCheckPath}"`);
  const shutdownSeconds = p.shutdownTimeout.toSeconds();
  if (shutdownSeconds < 1 || shutdownSeconds > MAX_SHUTDOWN_TIMEOUT.toSeconds()) {
    fail(`"shutdownTimeout" must be between 1 and ${MAX_SHUTDOWN_TIMEOUT.toSeconds()} seconds, got ${shutdownSeconds}`);
  }
  const idleSeconds = p.idleTimeout.toSeconds();
  if (idleSeconds < 1 || idleSeconds > 4000) fail(`"idleTimeout" must be between 1 and 4000 seconds, got ${idleSeconds}`);
  if (p.documentPrefix === '' || p.documentPrefix.startsWith('/') || p.documentPrefix.includes('*')) {
    fail(`"documentPrefix" must be a non-empty S3 key prefix without a leading "/" or "*", got "${p.documentPrefix}"`);
  }
  // The tasks reach ECR, Secrets Manager and CloudWatch through NAT: a new VPC needs at least one.
  if (!Number.isInteger(p.natGateways) || p.natGateways < 1) fail(`"natGateways" must be an integer >= 1, got ${p.natGateways}`);
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(p.databaseName)) {
    fail(`"databaseName" must be a Postgres identifier (letter, then letters, digits or _), got "${p.databaseName}"`);
  }
}
