import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/**
 * A VPC over two zones (the ALB and the Multi-AZ database need two): public subnets for the load
 * balancer and the NAT gateway, private subnets with egress for the tasks, isolated subnets for
 * Redis and Postgres. S3 and DynamoDB are reached through free gateway endpoints, so document
 * checkpoints and registry calls stay off the NAT gateway. Flow logs go to the log bucket.
 */
export function createVpc(scope: Construct, id: string, natGateways: number, logBucket: s3.IBucket): ec2.Vpc {
  return new ec2.Vpc(scope, id, {
    maxAzs: 2,
    natGateways,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
    gatewayEndpoints: {
      S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
    },
    flowLogs: {
      all: {
        destination: ec2.FlowLogDestination.toS3(logBucket, 'vpc-flow-logs/'),
        trafficType: ec2.FlowLogTrafficType.ALL,
      },
    },
  });
}

/** Where the tasks run: private subnets that reach the internet only through NAT. */
export const APP_SUBNETS: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

/** Where Redis and Postgres live: isolated subnets when the VPC has them, else the tasks' subnets. */
export function dataSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : APP_SUBNETS;
}
