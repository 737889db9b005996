import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const POSTGRES_PORT = 5432;
export const DATABASE_USERNAME = 'symphony';

/** Properties of `SymphonyDatabase`, filled in by `SymphonyService`. */
export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly instanceType: ec2.InstanceType;
  readonly multiAz: boolean;
  readonly databaseName: string;
  readonly retainData: boolean;
}

/**
 * Room and connection metadata: RDS Postgres in private subnets, encrypted, never publicly
 * accessible. RDS generates the credentials into Secrets Manager; the container receives them as
 * ECS secrets, never as plain environment.
 */
export class SymphonyDatabase extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly instance: rds.DatabaseInstance;
  /** JSON with `username`, `password`, `host`, `port`, `dbname`. */
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Symphony Postgres: reachable only from the Symphony service',
      allowAllOutbound: false,
    });
    // RDS sets the password that Secrets Manager generates here; the secret is then attached to the
    // instance, so it also carries the host, port and database name.
    const secret = new rds.DatabaseSecret(this, 'Credentials', { username: DATABASE_USERNAME });
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: props.instanceType,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      port: POSTGRES_PORT,
      publiclyAccessible: false,
      multiAz: props.multiAz,
      databaseName: props.databaseName,
      credentials: rds.Credentials.fromSecret(secret),
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      backupRetention: Duration.days(7),
      autoMinorVersionUpgrade: true,
      deletionProtection: props.retainData,
      removalPolicy: props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
    });
    this.secret = secret;

    Validations.of(this.instance).acknowledge(
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'Postgres keeps its standard port: it is in private subnets and its security group admits only the service, so a different port would add no protection.',
      },
      ...(props.multiAz
        ? []
        : [{ id: 'AwsSolutions-RDS3', reason: 'Multi-AZ was turned off through the databaseMultiAz prop (a trial or test stack).' }]),
      ...(props.retainData
        ? []
        : [{ id: 'AwsSolutions-RDS10', reason: 'retainData: false asks for a stack whose database is deleted with it (a trial or test stack).' }]),
    );
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'ECS injects PGUSER/PGPASSWORD when a task starts; rotating the password would break every running task until it is replaced, so rotation is a redeploy-coordinated operation, not an automatic one.',
    });
  }

  /** Lets `peer` (the service) connect, and nothing else. */
  allowFrom(peer: ec2.IConnectable): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(POSTGRES_PORT), 'Symphony service to Postgres');
  }
}
