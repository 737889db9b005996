import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterFromEnvironment, isClusterConfigured, type ClusterSetup } from '../../lib/cluster/index.js';
import { ConfigurationError } from '../../lib/index.js';

const complete: NodeJS.ProcessEnv = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  SYMPHONY_S3_BUCKET: 'symphony-docs',
  SYMPHONY_DYNAMODB_TABLE: 'symphony-rooms',
  SYMPHONY_CLUSTER_SECRET: 'a-secret-of-32-characters-length',
  SYMPHONY_NODE_URL: 'http://10.0.1.23:3000',
  AWS_REGION: 'eu-west-1',
};

async function rejectsNaming(env: NodeJS.ProcessEnv, variable: string): Promise<void> {
  await assert.rejects(clusterFromEnvironment({ env }), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    assert.match(error.message, new RegExp(`\\b${variable}\\b`));
    return true;
  });
}

async function dispose(setup: ClusterSetup | null): Promise<void> {
  await setup?.options.replicator.close();
  await setup?.options.store.close();
}

describe('cluster configuration from the environment', () => {
  it('is off when no cluster variable is set', async () => {
    assert.equal(isClusterConfigured({ DATABASE_URL: 'postgres://localhost/db', PORT: '3000' }), false);
    assert.equal(await clusterFromEnvironment({ env: { PORT: '3000' } }), null);
  });

  it('is on as soon as one of REDIS_URL, SYMPHONY_S3_BUCKET or SYMPHONY_DYNAMODB_TABLE is set', () => {
    for (const name of ['REDIS_URL', 'SYMPHONY_S3_BUCKET', 'SYMPHONY_DYNAMODB_TABLE']) {
      assert.equal(isClusterConfigured({ [name]: 'x' }), true, name);
    }
  });

  it('builds the store, the replicator and the node identity from a complete environment', async () => {
    const setup = await clusterFromEnvironment({
      env: { ...complete, SYMPHONY_NODE_ID: 'node-a', SYMPHONY_S3_PREFIX: 'rooms/', DATABASE_URL: 'postgres://db/app' },
      // No AWS here: the start-up checks of the table and the bucket have their own tests.
      verifyResources: false,
    });
    try {
      assert.ok(setup);
      assert.equal(setup.options.nodeId, 'node-a');
      assert.equal(setup.nodeUrl, 'http://10.0.1.23:3000');
      assert.equal(setup.documents.bucket, 'symphony-docs');
      assert.match(setup.documents.key('room'), /^rooms\//);
      assert.equal(setup.options.store.documents, setup.documents, 'Symphony reads rooms through S3 plus the log');
      assert.equal(JSON.stringify(setup.summary).includes(complete.SYMPHONY_CLUSTER_SECRET!), false, 'the summary holds no secret');
    } finally {
      await dispose(setup);
    }
  });

  for (const variable of ['REDIS_URL', 'SYMPHONY_S3_BUCKET', 'SYMPHONY_DYNAMODB_TABLE', 'SYMPHONY_CLUSTER_SECRET', 'SYMPHONY_NODE_URL']) {
    it(`fails at start naming ${variable} when it is missing`, async () => {
      await rejectsNaming({ ...complete, [variable]: undefined }, variable);
    });
  }

  it('fails naming the variable when a value is invalid', async () => {
    await rejectsNaming({ ...complete, REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL');
    await rejectsNaming({ ...complete, REDIS_URL: 'not a url' }, 'REDIS_URL');
    await rejectsNaming({ ...complete, SYMPHONY_S3_BUCKET: 'No_Such Bucket' }, 'SYMPHONY_S3_BUCKET');
    await rejectsNaming({ ...complete, SYMPHONY_DYNAMODB_TABLE: 'ab' }, 'SYMPHONY_DYNAMODB_TABLE');
    await rejectsNaming({ ...complete, SYMPHONY_CLUSTER_SECRET: 'short' }, 'SYMPHONY_CLUSTER_SECRET');
    await rejectsNaming({ ...complete, SYMPHONY_NODE_URL: 'ftp://10.0.1.23' }, 'SYMPHONY_NODE_URL');
    await rejectsNaming({ ...complete, SYMPHONY_NODE_ID: '#lease' }, 'SYMPHONY_NODE_ID');
  });

  it('fails naming AWS_REGION when no region is configured anywhere', async () => {
    const saved = { region: process.env.AWS_REGION, config: process.env.AWS_CONFIG_FILE, profile: process.env.AWS_PROFILE };
    delete process.env.AWS_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    try {
      await rejectsNaming({ ...complete, AWS_REGION: undefined }, 'AWS_REGION');
    } finally {
      if (saved.region === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved.region;
      if (saved.config === undefined) delete process.env.AWS_CONFIG_FILE;
      else process.env.AWS_CONFIG_FILE = saved.config;
    }
  });

  describe('on ECS (Fargate), without SYMPHONY_NODE_URL', () => {
    let metadata: Server;
    let metadataUrl: string;
    let answer: { status: number; body: unknown } = { status: 200, body: {} };

    before(async () => {
      metadata = createServer((request, response) => {
        if (request.url !== '/v4/task') {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body));
      });
      await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
      metadataUrl = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/v4`;
    });

    after(async () => {
      await new Promise<void>((resolve) => metadata.close(() => resolve()));
    });

    it("derives the node URL from the task's private IPv4 and PORT", async () => {
      answer = { status: 200, body: { Containers: [{ Networks: [{ IPv4Addresses: ['10.0.7.42'] }] }] } };
      const setup = await clusterFromEnvironment({
        env: { ...complete, SYMPHONY_NODE_URL: undefined, ECS_CONTAINER_METADATA_URI_V4: metadataUrl, PORT: '8080' },
        verifyResources: false,
      });
      try {
        assert.equal(setup?.nodeUrl, 'http://10.0.7.42:8080');
      } finally {
        await dispose(setup);
      }
    });

    it('fails naming SYMPHONY_NODE_URL when the metadata has no address', async () => {
      answer = { status: 500, body: {} };
      await rejectsNaming({ ...complete, SYMPHONY_NODE_URL: undefined, ECS_CONTAINER_METADATA_URI_V4: metadataUrl }, 'SYMPHONY_NODE_URL');
    });
  });
});
