import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';

export const REDIS_PORT = 6379;

/** Properties of `SymphonyRedis`, filled in by `SymphonyService`. */
export interface RedisProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly nodeType: string;
}

/**
 * The pub/sub bus between nodes: a Redis replication group of a primary and one replica in another
 * zone, with automatic failover, encrypted at rest and in transit. Only what `allowFrom` names may
 * connect; nothing is opened by default.
 */
export class SymphonyRedis extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** `rediss://` (TLS) URL of the primary endpoint, which follows a failover. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Symphony Redis: reachable only from the Symphony service',
      allowAllOutbound: false,
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Symphony Redis subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    // Cluster mode keeps every update in a Redis stream until a checkpoint covers it: an evicted
    // stream entry is a lost edit, so Redis must refuse writes rather than evict when full.
    const parameterGroup = new elasticache.CfnParameterGroup(this, 'ParameterGroup', {
      cacheParameterGroupFamily: 'redis7',
      description: 'Symphony Redis: never evict',
      properties: { 'maxmemory-policy': 'noeviction' },
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Symphony pub/sub between nodes',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: props.nodeType,
      // A primary and a replica in another zone: failover promotes the replica within a minute.
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      cacheParameterGroupName: parameterGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
    });
    this.replicationGroup.addResourceDependency(subnetGroup);
    this.url = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.replicationGroup.attrPrimaryEndPointPort}`;

    Validations.of(this.replicationGroup).acknowledge(
      {
        id: 'AwsSolutions-AEC5',
        reason:
          'Redis keeps its standard port: it sits in isolated subnets and its security group admits only the service, so a different port would add no protection.',
      },
      {
        id: 'AwsSolutions-AEC6',
        reason:
          'No Redis AUTH token: only the service security group can connect, traffic is TLS-encrypted, and the cluster mode reads REDIS_URL as plain configuration, which would put a token in the task definition.',
      },
    );
  }

  /** Lets `peer` (the service) connect, and nothing else. */
  allowFrom(peer: ec2.IConnectable): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(REDIS_PORT), 'Symphony service to Redis');
  }
}
