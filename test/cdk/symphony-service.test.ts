/* eslint-disable @typescript-eslint/no-explicit-any -- a synthesized template is untyped CloudFormation JSON */
import assert from 'node:assert/strict';
import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { App, Stack } from 'aws-cdk-lib';
import {
  ENVIRONMENT_VARIABLE_NAMES,
  SECRET_VARIABLE_NAMES,
  SymphonyService,
  type SymphonyServiceProps,
} from '../../infra/cdk/index.js';
import { CERTIFICATE_ARN, customDeployment, defaultDeployment, imageProps, logicalId, type Deployment } from './fixtures.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;
type NameValue = { Name: string; Value?: unknown; ValueFrom?: unknown };

function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function only(template: Template, type: string): { id: string; props: Record<string, any> } {
  const found = Object.entries(resources(template, type));
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0];
  return { id, props: resource.Properties ?? {} };
}

function container(template: Template): Record<string, any> {
  const definitions = only(template, 'AWS::ECS::TaskDefinition').props.ContainerDefinitions as Record<string, any>[];
  assert.equal(definitions.length, 1);
  return definitions[0];
}

function environmentOf(template: Template): Record<string, unknown> {
  return Object.fromEntries((container(template).Environment as NameValue[]).map((e) => [e.Name, e.Value]));
}

function secretsOf(template: Template): Record<string, unknown> {
  return Object.fromEntries((container(template).Secrets as NameValue[]).map((e) => [e.Name, e.ValueFrom]));
}

function targetGroupAttributes(template: Template): Record<string, string> {
  const attributes = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').props.TargetGroupAttributes as { Key: string; Value: string }[];
  return Object.fromEntries(attributes.map((a) => [a.Key, a.Value]));
}

function loadBalancerAttributes(template: Template): Record<string, unknown> {
  const attributes = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').props.LoadBalancerAttributes as { Key: string; Value: unknown }[];
  return Object.fromEntries(attributes.map((a) => [a.Key, a.Value]));
}

function getAtt(id: string, attribute: string) {
  return { 'Fn::GetAtt': [id, attribute] };
}

/** Every ingress rule in the template, inline or standalone, with the group it opens. */
function ingressRules(template: Template): { groupId: string; rule: Record<string, any> }[] {
  const rules: { groupId: string; rule: Record<string, any> }[] = [];
  for (const [id, group] of Object.entries(resources(template, 'AWS::EC2::SecurityGroup'))) {
    for (const rule of (group.Properties?.SecurityGroupIngress as Record<string, any>[] | undefined) ?? []) {
      rules.push({ groupId: id, rule });
    }
  }
  for (const ingress of Object.values(resources(template, 'AWS::EC2::SecurityGroupIngress'))) {
    const props = ingress.Properties as Record<string, any>;
    rules.push({ groupId: props.GroupId['Fn::GetAtt'][0], rule: props });
  }
  return rules;
}

function sourceGroup(rule: Record<string, any>): string | undefined {
  return rule.SourceSecurityGroupId?.['Fn::GetAtt']?.[0];
}

describe('SymphonyService with its defaults', function () {
  this.timeout(60000);
  let deployment: Deployment;
  let template: Template;
  let ids: { bucket: string; logBucket: string; table: string; redis: string; database: string; databaseSecret: string };
  let groups: { loadBalancer: string; service: string; redis: string; database: string };

  before(() => {
    deployment = defaultDeployment();
    template = deployment.template;
    const { service } = deployment;
    ids = {
      bucket: logicalId(deployment, service.documentBucket),
      logBucket: logicalId(deployment, service.logBucket),
      table: logicalId(deployment, service.roomRegistry),
      redis: deployment.stack.resolve(service.redis.replicationGroup.logicalId) as string,
      database: logicalId(deployment, service.database.instance),
      databaseSecret: logicalId(deployment, service.database.secret),
    };
    groups = {
      loadBalancer: logicalId(deployment, service.loadBalancer.connections.securityGroups[0]),
      service: logicalId(deployment, service.service.connections.securityGroups[0]),
      redis: logicalId(deployment, service.redis.securityGroup),
      database: logicalId(deployment, service.database.securityGroup),
    };
  });

  describe('compute', () => {
    it('runs the image as a Fargate service in private subnets without public addresses', () => {
      const { props } = only(template, 'AWS::ECS::Service');
      assert.equal(props.LaunchType, 'FARGATE');
      const network = props.NetworkConfiguration.AwsvpcConfiguration;
      assert.equal(network.AssignPublicIp, 'DISABLED');
      const subnets = resources(template, 'AWS::EC2::Subnet');
      assert.equal(network.Subnets.length, 2);
      for (const { Ref } of network.Subnets as { Ref: string }[]) {
        const tags = subnets[Ref].Properties?.Tags as { Key: string; Value: string }[];
        assert.deepEqual(tags.find((t) => t.Key === 'aws-cdk:subnet-type')?.Value, 'Private', `${Ref} is not private`);
      }
      assert.equal(container(template).Image, 'public.ecr.aws/example/host-app:1');
    });

    it('sizes a task at 1 vCPU and 2 GiB on x86_64', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: '1024',
        Memory: '2048',
        RequiresCompatibilities: ['FARGATE'],
        RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      });
    });

    it('scales between 2 and 10 tasks by target tracking on 50 % average CPU', () => {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 2,
        MaxCapacity: 10,
        ScalableDimension: 'ecs:service:DesiredCount',
      });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          TargetValue: 50,
        },
      });
      // Auto scaling owns the count: a deploy must not reset it.
      assert.equal(only(template, 'AWS::ECS::Service').props.DesiredCount, undefined);
    });

    it('gives a stopping node 30 s after SIGTERM, under an init process that forwards it', () => {
      const app = container(template);
      assert.equal(app.StopTimeout, 30);
      assert.equal(app.LinuxParameters.InitProcessEnabled, true);
      assert.deepEqual(app.PortMappings, [{ ContainerPort: 3000, Name: 'http', Protocol: 'tcp' }]);
    });

    it('sends the logs to CloudWatch with a retention', () => {
      assert.equal(container(template).LogConfiguration.LogDriver, 'awslogs');
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });
  });

  describe('load balancer', () => {
    it('is internet-facing in the public subnets with an idle timeout suited to WebSockets', () => {
      const { props } = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
      assert.equal(props.Scheme, 'internet-facing');
      assert.equal(loadBalancerAttributes(template)['idle_timeout.timeout_seconds'], '300');
    });

    it('routes by least outstanding requests, not round robin', () => {
      assert.equal(targetGroupAttributes(template)['load_balancing.algorithm.type'], 'least_outstanding_requests');
    });

    it('checks the app on /healthz and takes a 503-answering node out within two checks', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetType: 'ip',
        Protocol: 'HTTP',
        Port: 3000,
        HealthCheckPath: '/healthz',
        Matcher: { HttpCode: '200' },
        HealthCheckIntervalSeconds: 10,
        UnhealthyThresholdCount: 2,
      });
    });

    it('drains a deregistering node for as long as its graceful shutdown may take', () => {
      const delay = Number(targetGroupAttributes(template)['deregistration_delay.timeout_seconds']);
      assert.equal(delay, 30);
      // A node closes its sockets within ~10 s of SIGTERM; neither limit may cut that short.
      assert.ok(delay >= 10 && container(template).StopTimeout >= 10);
    });

    it('listens on HTTP 80 and forwards to the service when no certificate is given', () => {
      const listener = only(template, 'AWS::ElasticLoadBalancingV2::Listener').props;
      assert.equal(listener.Port, 80);
      assert.equal(listener.Protocol, 'HTTP');
      assert.equal(listener.DefaultActions[0].Type, 'forward');
    });

    it('answers the nodes’ internal routes (/_symphony/*) itself with a fixed 404, ahead of forwarding', () => {
      const listener = only(template, 'AWS::ElasticLoadBalancingV2::Listener');
      const rules = template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule');
      const internal = Object.values(rules).map((rule) => (rule as { Properties: Record<string, unknown> }).Properties);
      assert.deepEqual(internal, [
        {
          ListenerArn: { Ref: listener.id },
          Priority: 1,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/_symphony/*'] } }],
          Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'not found' } }],
        },
      ]);
    });

    it('registers the service with the target group on the container port', () => {
      const { props } = only(template, 'AWS::ECS::Service');
      assert.deepEqual(props.LoadBalancers, [
        { ContainerName: 'app', ContainerPort: 3000, TargetGroupArn: { Ref: only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').id } },
      ]);
    });

    it('writes access logs and VPC flow logs to the log bucket', () => {
      const attributes = loadBalancerAttributes(template);
      assert.equal(attributes['access_logs.s3.enabled'], 'true');
      assert.deepEqual(attributes['access_logs.s3.bucket'], { Ref: ids.logBucket });
      const flowLog = only(template, 'AWS::EC2::FlowLog').props;
      assert.equal(flowLog.LogDestinationType, 's3');
      assert.equal(flowLog.TrafficType, 'ALL');
    });
  });

  describe('data stores', () => {
    it('runs Redis as a replication group with automatic failover, encrypted in transit and at rest', () => {
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        Engine: 'redis',
        NumCacheClusters: 2,
        AutomaticFailoverEnabled: true,
        MultiAZEnabled: true,
        TransitEncryptionEnabled: true,
        AtRestEncryptionEnabled: true,
      });
    });

    it('configures Redis never to evict, so no logged update is dropped before a checkpoint covers it', () => {
      template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
        CacheParameterGroupFamily: 'redis7',
        Properties: { 'maxmemory-policy': 'noeviction' },
      });
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        CacheParameterGroupName: Match.objectLike({ Ref: Match.stringLikeRegexp('ParameterGroup') }),
      });
    });

    it('keeps the room registry in an on-demand DynamoDB table keyed by room and node with an expiresAt TTL', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'room', KeyType: 'HASH' },
          { AttributeName: 'node', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'room', AttributeType: 'S' },
          { AttributeName: 'node', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('keeps documents in an encrypted bucket with no public access that refuses plain HTTP', () => {
      const bucket = resources(template, 'AWS::S3::Bucket')[ids.bucket];
      assert.equal(bucket.DeletionPolicy, 'Retain');
      assert.deepEqual(bucket.Properties?.BucketEncryption, {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      assert.deepEqual(bucket.Properties?.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: ids.bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('runs Postgres privately, encrypted and Multi-AZ, with credentials generated in Secrets Manager', () => {
      const { props } = only(template, 'AWS::RDS::DBInstance');
      assert.equal(props.Engine, 'postgres');
      assert.equal(props.PubliclyAccessible, false);
      assert.equal(props.StorageEncrypted, true);
      assert.equal(props.MultiAZ, true);
      assert.equal(props.DeletionProtection, true);
      assert.match(JSON.stringify(props.MasterUserPassword), /resolve:secretsmanager:/);
      assert.match(JSON.stringify(props.MasterUserPassword), new RegExp(ids.databaseSecret));
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"symphony"}', GenerateStringKey: 'password' }),
      });
    });

    it('puts Redis and Postgres in the isolated subnets', () => {
      const subnets = resources(template, 'AWS::EC2::Subnet');
      const isolated = (refs: { Ref: string }[]) =>
        refs.every(({ Ref }) => (subnets[Ref].Properties?.Tags as { Key: string; Value: string }[]).some((t) => t.Value === 'Isolated'));
      assert.ok(isolated(only(template, 'AWS::ElastiCache::SubnetGroup').props.SubnetIds));
      assert.ok(isolated(only(template, 'AWS::RDS::DBSubnetGroup').props.SubnetIds));
    });
  });

  describe('container configuration', () => {
    it('hands every resource to the container as the environment variables the cluster mode reads', () => {
      const environment = environmentOf(template);
      assert.deepEqual(Object.keys(environment).sort(), [...ENVIRONMENT_VARIABLE_NAMES].sort());
      assert.deepEqual(environment, {
        PORT: '3000',
        HOST: '0.0.0.0',
        REDIS_URL: {
          'Fn::Join': ['', ['rediss://', getAtt(ids.redis, 'PrimaryEndPoint.Address'), ':', getAtt(ids.redis, 'PrimaryEndPoint.Port')]],
        },
        SYMPHONY_S3_BUCKET: { Ref: ids.bucket },
        SYMPHONY_S3_PREFIX: 'documents/',
        SYMPHONY_DYNAMODB_TABLE: { Ref: ids.table },
        PGHOST: getAtt(ids.database, 'Endpoint.Address'),
        PGPORT: getAtt(ids.database, 'Endpoint.Port'),
        PGDATABASE: 'symphony',
        PGSSLMODE: 'no-verify',
      });
    });

    it('leaves SYMPHONY_NODE_URL and AWS_REGION to the runtime', () => {
      const names = [...Object.keys(environmentOf(template)), ...Object.keys(secretsOf(template))];
      assert.ok(!names.includes('SYMPHONY_NODE_URL'));
      assert.ok(!names.includes('AWS_REGION'));
    });

    it('passes credentials and tokens only as ECS secrets from Secrets Manager', () => {
      const secrets = secretsOf(template);
      assert.deepEqual(Object.keys(secrets).sort(), [...SECRET_VARIABLE_NAMES].sort());
      assert.deepEqual(secrets.PGUSER, { 'Fn::Join': ['', [{ Ref: ids.databaseSecret }, ':username::']] });
      assert.deepEqual(secrets.PGPASSWORD, { 'Fn::Join': ['', [{ Ref: ids.databaseSecret }, ':password::']] });
      assert.deepEqual(secrets.SYMPHONY_CLUSTER_SECRET, { Ref: logicalId(deployment, deployment.service.clusterSecret) });
      assert.deepEqual(secrets.SYMPHONY_ADMIN_TOKEN, { Ref: logicalId(deployment, deployment.service.adminToken) });
      // Both tokens are generated, distinct secrets.
      assert.notDeepEqual(secrets.SYMPHONY_CLUSTER_SECRET, secrets.SYMPHONY_ADMIN_TOKEN);
      template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 48 }) }, 2);
    });
  });

  describe('least privilege', () => {
    let taskPolicy: Record<string, any>[];

    before(() => {
      const taskRole = logicalId(deployment, deployment.service.taskDefinition.taskRole);
      const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((p) =>
        (p.Properties?.Roles as { Ref: string }[]).some((r) => r.Ref === taskRole),
      );
      assert.equal(policies.length, 1);
      taskPolicy = (policies[0].Properties?.PolicyDocument as { Statement: Record<string, any>[] }).Statement;
      assert.equal(resources(template, 'AWS::IAM::Role')[taskRole].Properties?.ManagedPolicyArns, undefined);
    });

    it('lets the task role read and write objects only under its bucket prefix', () => {
      const objects = taskPolicy.find((s) => s.Sid === 'SymphonyDocuments')!;
      assert.deepEqual(objects.Resource, { 'Fn::Join': ['', [getAtt(ids.bucket, 'Arn'), '/documents/*']] });
      assert.deepEqual(objects.Action, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']);
      const listing = taskPolicy.find((s) => s.Sid === 'SymphonyDocumentListing')!;
      assert.deepEqual(listing.Resource, getAtt(ids.bucket, 'Arn'));
      assert.deepEqual(listing.Condition, { StringLike: { 's3:prefix': ['documents/*'] } });
    });

    it('lets the task role use only its table, by ARN, with item operations', () => {
      const registry = taskPolicy.find((s) => s.Sid === 'SymphonyRoomRegistry')!;
      assert.deepEqual(registry.Resource, getAtt(ids.table, 'Arn'));
      assert.ok((registry.Action as string[]).every((a) => a.startsWith('dynamodb:')));
      assert.ok(!(registry.Action as string[]).some((a) => /Create|Delete(Table)|\*/.test(a)));
    });

    it('grants the task role nothing else', () => {
      assert.deepEqual(taskPolicy.map((s) => s.Sid).sort(), ['SymphonyDocumentListing', 'SymphonyDocuments', 'SymphonyRoomRegistry']);
    });

    it('opens only the load balancer security group to the internet, on its listener ports', () => {
      const publicRules = ingressRules(template).filter(({ rule }) => rule.CidrIp || rule.CidrIpv6);
      assert.ok(publicRules.length > 0);
      for (const { groupId, rule } of publicRules) {
        assert.equal(groupId, groups.loadBalancer, `public ingress on ${groupId}`);
        assert.equal(rule.CidrIp, '0.0.0.0/0');
        assert.deepEqual([rule.FromPort, rule.ToPort], [80, 80]);
      }
    });

    it('lets only the service security group reach Redis and Postgres', () => {
      const rules = ingressRules(template);
      const redis = rules.filter((r) => r.groupId === groups.redis);
      assert.deepEqual(redis.map(({ rule }) => [sourceGroup(rule), rule.FromPort, rule.ToPort]), [[groups.service, 6379, 6379]]);
      const database = rules.filter((r) => r.groupId === groups.database);
      assert.deepEqual(database.map(({ rule }) => [sourceGroup(rule), rule.FromPort, rule.ToPort]), [[groups.service, 5432, 5432]]);
    });

    it('lets the service be reached only by the load balancer and by other nodes, on the container port', () => {
      const service = ingressRules(template).filter((r) => r.groupId === groups.service);
      const sources = service.map(({ rule }) => [sourceGroup(rule), rule.FromPort, rule.ToPort]);
      assert.deepEqual(sources.sort(), [
        [groups.loadBalancer, 3000, 3000],
        [groups.service, 3000, 3000],
      ].sort());
    });
  });

  describe('outputs', () => {
    it('prints the service URL and the dashboard URL', () => {
      const loadBalancer = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').id;
      const outputs = Object.values(template.toJSON().Outputs as Record<string, { Value: unknown }>).map((o) => o.Value);
      assert.deepEqual(outputs.slice(0, 2), [
        { 'Fn::Join': ['', ['http://', getAtt(loadBalancer, 'DNSName')]] },
        { 'Fn::Join': ['', ['http://', getAtt(loadBalancer, 'DNSName'), '/admin/']] },
      ]);
    });
  });
});

describe('SymphonyService with a certificate, an existing VPC and custom props', function () {
  this.timeout(60000);
  let deployment: Deployment;
  let template: Template;

  before(() => {
    deployment = customDeployment();
    template = deployment.template;
  });

  it('serves HTTPS on 443 with the certificate', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: Match.stringLikeRegexp('TLS13'),
      DefaultActions: [Match.objectLike({ Type: 'forward' })],
    });
  });

  it('answers /_symphony/* on the HTTPS listener with a fixed 404', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: { Ref: Match.stringLikeRegexp('Https') },
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/_symphony/*'] } }],
      Actions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '404' }) })],
    });
  });

  it('redirects HTTP to HTTPS', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
  });

  it('opens 80 and 443 to the internet on the load balancer only', () => {
    const groupId = logicalId(deployment, deployment.service.loadBalancer.connections.securityGroups[0]);
    const publicRules = ingressRules(template).filter(({ rule }) => rule.CidrIp || rule.CidrIpv6);
    assert.deepEqual(publicRules.map((r) => r.groupId), [groupId, groupId]);
    assert.deepEqual(publicRules.map((r) => r.rule.FromPort).sort(), [443, 80]);
  });

  it('prints https URLs on the domain name', () => {
    const outputs = Object.values(template.toJSON().Outputs as Record<string, { Value: unknown }>).map((o) => o.Value);
    assert.deepEqual(outputs.slice(0, 2), ['https://collab.example.com', 'https://collab.example.com/admin/']);
  });

  it('builds no VPC of its own and places everything in the given one', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    const vpcId = logicalId(deployment, deployment.service.vpc);
    assert.equal(vpcId, deployment.stack.resolve(deployment.stack.getLogicalId(deployment.stack.node.findChild('ExistingVpc').node.defaultChild as never)));
    for (const group of Object.values(resources(template, 'AWS::EC2::SecurityGroup'))) {
      assert.deepEqual(group.Properties?.VpcId, { Ref: vpcId });
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { VpcId: { Ref: vpcId } });
  });

  it('puts Redis and Postgres in the private subnets when the VPC has no isolated ones', () => {
    const privateSubnets = deployment.service.vpc.privateSubnets.map((s) => deployment.stack.resolve(s.subnetId));
    assert.deepEqual(only(template, 'AWS::ElastiCache::SubnetGroup').props.SubnetIds, privateSubnets);
    assert.deepEqual(only(template, 'AWS::RDS::DBSubnetGroup').props.SubnetIds, privateSubnets);
  });

  it('applies the task size, scaling and shutdown props', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '2048', Memory: '4096' });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 20 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60 }),
    });
    assert.equal(container(template).StopTimeout, 45);
    assert.equal(targetGroupAttributes(template)['deregistration_delay.timeout_seconds'], '45');
  });

  it('uses the document prefix in the environment and in the S3 policy', () => {
    assert.equal(environmentOf(template).SYMPHONY_S3_PREFIX, 'rooms/');
    const bucket = logicalId(deployment, deployment.service.documentBucket);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Sid: 'SymphonyDocuments', Resource: { 'Fn::Join': ['', [getAtt(bucket, 'Arn'), '/rooms/*']] } })]),
      },
    });
  });

  it('adds the developer’s own environment variables', () => {
    assert.equal(environmentOf(template).LOG_LEVEL, 'debug');
  });

  it('deletes the data with the stack when retainData is false', () => {
    const bucket = resources(template, 'AWS::S3::Bucket')[logicalId(deployment, deployment.service.documentBucket)];
    assert.equal(bucket.DeletionPolicy, 'Delete');
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    const { props } = only(template, 'AWS::RDS::DBInstance');
    assert.equal(props.DeletionProtection, false);
    assert.equal(props.MultiAZ, false);
  });

  it('turns access logs off with a warning in an environment-agnostic stack', () => {
    assert.equal(loadBalancerAttributes(template)['access_logs.s3.enabled'], undefined);
    Annotations.fromStack(deployment.stack).hasWarning('*', Match.stringLikeRegexp('access logs are off'));
  });
});

describe('SymphonyService props', () => {
  function construct(props: Partial<SymphonyServiceProps>): () => void {
    return () => new SymphonyService(new Stack(new App(), 'Props'), 'Collab', { ...imageProps(), ...props } as SymphonyServiceProps);
  }

  it('throws if the image is missing', () => {
    assert.throws(construct({ image: undefined as unknown as ecs.ContainerImage }), /"image" prop is required/);
  });

  it('throws if the CPU is not a Fargate size', () => {
    assert.throws(construct({ cpu: 1000 }), /"cpu" must be one of 256, 512, 1024/);
  });

  it('throws if maxTasks is below minTasks', () => {
    assert.throws(construct({ minTasks: 4, maxTasks: 3 }), /"maxTasks" must be an integer of at least "minTasks" \(4\), got 3/);
  });

  it('throws if the shutdown timeout exceeds what Fargate allows', () => {
    assert.throws(construct({ shutdownTimeout: Duration.seconds(121) }), /"shutdownTimeout" must be between 1 and 120 seconds, got 121/);
  });

  it('throws if the document prefix is not a plain key prefix', () => {
    assert.throws(construct({ documentPrefix: '/docs/' }), /"documentPrefix"/);
    assert.throws(construct({ documentPrefix: '' }), /"documentPrefix"/);
  });

  it('throws if an extra variable would replace one the cluster mode reads', () => {
    assert.throws(construct({ environment: { REDIS_URL: 'redis://elsewhere' } }), /"environment.REDIS_URL" is set by the construct/);
    assert.throws(construct({ environment: { PORT: '8080' } }), /set the "containerPort" prop instead/);
    assert.throws(
      construct({ secrets: { PGPASSWORD: ecs.Secret.fromSsmParameter({ parameterArn: 'arn:aws:ssm:eu-west-1:1:parameter/x' } as never) } }),
      /"secrets.PGPASSWORD" is set by the construct/,
    );
  });
});
