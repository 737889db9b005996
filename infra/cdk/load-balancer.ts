import { Annotations, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The nodes' internal routes (`GET /_symphony/rooms/<room>/state`), never forwarded from the internet. */
export const INTERNAL_PATH_PATTERN = '/_symphony/*';

/** Properties of `SymphonyLoadBalancer`, filled in by `SymphonyService`. */
export interface LoadBalancerProps {
  readonly vpc: ec2.IVpc;
  readonly containerPort: number;
  readonly healthCheckPath: string;
  readonly idleTimeout: Duration;
  readonly deregistrationDelay: Duration;
  readonly certificate?: acm.ICertificate;
  readonly logBucket: s3.IBucket;
}

/**
 * The single public entry point: an internet-facing ALB in the public subnets. It forwards HTTP
 * (and WebSocket upgrades) to the tasks, or with a certificate serves HTTPS and redirects HTTP;
 * the nodes' internal routes it answers itself with a 404.
 */
export class SymphonyLoadBalancer extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly protocol: 'http' | 'https';

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Symphony load balancer: the only security group open to the internet',
      // Egress is added for the service's port alone when the targets are attached.
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      idleTimeout: props.idleTimeout,
      dropInvalidHeaderFields: true,
    });
    this.enableAccessLogs(props.logBucket);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: props.containerPort,
      // Round robin kept sending new sockets to a node already at 90 % CPU in the case study;
      // least outstanding requests steers them to the least busy node.
      loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
      deregistrationDelay: props.deregistrationDelay,
      healthCheck: {
        path: props.healthCheckPath,
        healthyHttpCodes: '200',
        // A node answers 503 from SIGTERM on: two failed checks 10 s apart take it out of rotation.
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });

    let forwarding: elbv2.ApplicationListener;
    if (props.certificate) {
      this.protocol = 'https';
      forwarding = this.loadBalancer.addListener('Https', {
        protocol: elbv2.ApplicationProtocol.HTTPS,
        port: 443,
        certificates: [props.certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addListener('Http', {
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: 80,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
      });
    } else {
      this.protocol = 'http';
      forwarding = this.loadBalancer.addListener('Http', {
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: 80,
        defaultTargetGroups: [this.targetGroup],
      });
    }
    // The nodes serve each other room state under /_symphony/ on the app's own port. Only nodes
    // (inside the VPC) may reach it: from the internet, the load balancer answers it itself.
    forwarding.addAction('InternalRoutes', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns([INTERNAL_PATH_PATTERN])],
      action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'not found' }),
    });

    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The load balancer is the public entry point: it must accept HTTP(S) from any address.',
    });
  }

  /**
   * The bucket policy that admits the ALB's log delivery names the ELB account of the stack's
   * region, so an environment-agnostic stack (no `env.region`) cannot have access logs.
   */
  private enableAccessLogs(bucket: s3.IBucket): void {
    if (!Token.isUnresolved(Stack.of(this).region)) {
      this.loadBalancer.logAccessLogs(bucket, 'load-balancer');
      return;
    }
    Annotations.of(this).addWarningV2(
      'symphony:access-logs-need-region',
      'Load balancer access logs are off: give the stack an env with a region to turn them on.',
    );
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Environment-agnostic stack: ELB access logging needs a concrete region; SymphonyService turns it on whenever the stack has env.region.',
    });
  }
}
