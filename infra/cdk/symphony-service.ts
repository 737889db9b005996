import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { containerEnvironment, containerSecrets } from './container-environment.js';
import { SymphonyDatabase } from './database.js';
import { SymphonyLoadBalancer } from './load-balancer.js';
import { APP_SUBNETS, createVpc, dataSubnets } from './network.js';
import { resolveProps, type ResolvedProps, type SymphonyServiceProps } from './props.js';
import { SymphonyRedis } from './redis.js';
import { createDocumentBucket, createLogBucket, createRoomRegistryTable } from './storage.js';

/** The name of the app's container in the task definition, for lookups and log streams. */
export const CONTAINER_NAME = 'app';
const S3_ACCESS_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';
/** Where the dashboard is served, relative to the service URL. */
export const DASHBOARD_PATH = '/admin/';
/** Time for a new task to start and pass its first health checks before ECS judges it. */
const HEALTH_CHECK_GRACE_PERIOD = Duration.seconds(60);
/** Scale out quickly when load rises, but scale in slowly: removing a node reconnects all its users. */
const SCALE_OUT_COOLDOWN = Duration.seconds(60);
const SCALE_IN_COOLDOWN = Duration.seconds(300);

/**
 * Deploys a host app with Symphony attached: the developer's image on ECS Fargate behind an
 * Application Load Balancer, with Redis (pub/sub), DynamoDB (room registry), S3 (documents) and
 * RDS Postgres (metadata), each reachable only by the service, and CPU target-tracking scaling.
 *
 * ```ts
 * new SymphonyService(this, 'Collab', { image: ecs.ContainerImage.fromEcrRepository(repo, 'v1') });
 * ```
 */
export class SymphonyService extends Construct {
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly documentBucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly roomRegistry: dynamodb.Table;
  readonly redis: SymphonyRedis;
  readonly database: SymphonyDatabase;
  /** Shared secret that authenticates node-to-node state requests (`SYMPHONY_CLUSTER_SECRET`). */
  readonly clusterSecret: secretsmanager.Secret;
  /** Bearer token of the dashboard (`SYMPHONY_ADMIN_TOKEN`). */
  readonly adminToken: secretsmanager.Secret;
  /** `http(s)://host` that clients connect to. */
  readonly serviceUrl: string;
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: SymphonyServiceProps) {
    super(scope, id);
    const p = resolveProps(props);
    // Every bucket here disables ACLs, so S3 server access logs must be granted by bucket policy
    // whatever the app's feature flags say (context must be set before any child is added).
    this.node.setContext(S3_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.logBucket = createLogBucket(this, 'LogBucket', p.retainData);
    this.vpc = p.vpc ?? createVpc(this, 'Vpc', p.natGateways, this.logBucket);
    this.documentBucket = createDocumentBucket(this, 'DocumentBucket', p.retainData, this.logBucket);
    this.roomRegistry = createRoomRegistryTable(this, 'RoomRegistry');
    this.redis = new SymphonyRedis(this, 'Redis', {
      vpc: this.vpc,
      subnets: dataSubnets(this.vpc),
      nodeType: p.redisNodeType,
    });
    this.database = new SymphonyDatabase(this, 'Database', {
      vpc: this.vpc,
      subnets: dataSubnets(this.vpc),
      instanceType: p.databaseInstanceType,
      multiAz: p.databaseMultiAz,
      databaseName: p.databaseName,
      retainData: p.retainData,
    });
    this.clusterSecret = generatedToken(this, 'ClusterSecret', 'Symphony: authenticates state requests between nodes');
    this.adminToken = generatedToken(this, 'AdminToken', 'Symphony: bearer token of the dashboard');

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.taskDefinition = this.createTaskDefinition(p);
    const taskSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc: this.vpc,
      description: 'Symphony service tasks',
      // The tasks call S3, DynamoDB, Secrets Manager, ECR and CloudWatch over HTTPS.
      allowAllOutbound: true,
    });
    // Nodes fetch a room's live state from each other on the container port, inside the VPC.
    taskSecurityGroup.connections.allowFrom(taskSecurityGroup, ec2.Port.tcp(p.containerPort), 'Symphony node to node');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // No desiredCount: auto scaling owns the count, and a deploy must not reset it to the minimum.
      securityGroups: [taskSecurityGroup],
      vpcSubnets: APP_SUBNETS,
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: HEALTH_CHECK_GRACE_PERIOD,
    });
    this.redis.allowFrom(this.service);
    this.database.allowFrom(this.service);

    const entry = new SymphonyLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      containerPort: p.containerPort,
      healthCheckPath: p.healthCheckPath,
      idleTimeout: p.idleTimeout,
      deregistrationDelay: p.shutdownTimeout,
      certificate: p.certificate,
      logBucket: this.logBucket,
    });
    this.loadBalancer = entry.loadBalancer;
    this.targetGroup = entry.targetGroup;
    this.service.attachToApplicationTargetGroup(this.targetGroup);

    const scaling = this.service.autoScaleTaskCount({ minCapacity: p.minTasks, maxCapacity: p.maxTasks });
    scaling.scaleOnCpuUtilization('CpuScaling', {
      targetUtilizationPercent: p.targetCpuUtilizationPercent,
      scaleOutCooldown: SCALE_OUT_COOLDOWN,
      scaleInCooldown: SCALE_IN_COOLDOWN,
    });

    this.serviceUrl = `${entry.protocol}://${p.domainName ?? this.loadBalancer.loadBalancerDnsName}`;
    this.dashboardUrl = `${this.serviceUrl}${DASHBOARD_PATH}`;
    new CfnOutput(this, 'ServiceUrl', { value: this.serviceUrl, description: 'Symphony: the URL clients connect to' });
    new CfnOutput(this, 'DashboardUrl', { value: this.dashboardUrl, description: 'Symphony: the dashboard' });
    new CfnOutput(this, 'AdminTokenSecretArn', {
      value: this.adminToken.secretArn,
      description: 'Symphony: the dashboard token (aws secretsmanager get-secret-value --secret-id <arn>)',
    });
  }

  private createTaskDefinition(p: ResolvedProps): ecs.FargateTaskDefinition {
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: p.cpu,
      memoryLimitMiB: p.memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: p.cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    grantDocumentAccess(taskDefinition.taskRole, this.documentBucket, p.documentPrefix);
    grantRegistryAccess(taskDefinition.taskRole, this.roomRegistry);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: p.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    taskDefinition.addContainer(CONTAINER_NAME, {
      containerName: CONTAINER_NAME,
      image: p.image,
      essential: true,
      portMappings: [{ containerPort: p.containerPort, protocol: ecs.Protocol.TCP, name: 'http' }],
      environment: containerEnvironment(
        {
          containerPort: p.containerPort,
          redisUrl: this.redis.url,
          bucketName: this.documentBucket.bucketName,
          documentPrefix: p.documentPrefix,
          tableName: this.roomRegistry.tableName,
          databaseHost: this.database.instance.dbInstanceEndpointAddress,
          databasePort: this.database.instance.dbInstanceEndpointPort,
          databaseName: p.databaseName,
          databaseSslMode: p.databaseSslMode,
        },
        p.environment,
      ),
      secrets: containerSecrets(
        { databaseSecret: this.database.secret, clusterSecret: this.clusterSecret, adminToken: this.adminToken },
        p.secrets,
      ),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'symphony' }),
      // SIGTERM, then this long to checkpoint and close sockets before SIGKILL.
      stopTimeout: p.shutdownTimeout,
      // A real init as PID 1 forwards SIGTERM to the app and reaps zombies, whatever the image's CMD.
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment carries only non-secret configuration (endpoints, names, ports); database credentials and tokens are ECS secrets from Secrets Manager.',
    });
    return taskDefinition;
  }
}

/**
 * Objects under the prefix, and listing of that prefix only: the task cannot touch other keys
 * that may share the bucket.
 */
function grantDocumentAccess(role: iam.IRole, bucket: s3.Bucket, prefix: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'SymphonyDocuments',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'SymphonyDocumentListing',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }),
  );
  // cdk-nag names the finding after the bucket's logical ID, e.g. `<Bucket1234.Arn>/documents/*`.
  const stack = Stack.of(bucket);
  const bucketLogicalId = stack.resolve(stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)) as string;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
    reason:
      'The wildcard is the document key prefix: the task may touch only objects under its own prefix, which is the narrowest grant for keys it creates at run time.',
  });
}

/** Item reads and writes on the registry table alone: no other table, no table management. */
function grantRegistryAccess(role: iam.IRole, table: dynamodb.ITable): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'SymphonyRoomRegistry',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
      ],
      resources: [table.tableArn],
    }),
  );
}

/** A random token in Secrets Manager, handed to the container as an ECS secret. */
function generatedToken(scope: Construct, id: string, description: string): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, {
    description,
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'ECS injects the token when a task starts; rotating it would split the running nodes between old and new values until every task is replaced, so it is rotated by a redeploy, not automatically.',
  });
  return secret;
}
