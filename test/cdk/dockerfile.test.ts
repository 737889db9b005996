import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// No Docker engine runs here, so these tests read the Dockerfile's structure and run the one piece
// of logic it holds (the runtime manifest) against the real package.json.

const run = promisify(execFile);

interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: string[];
}

/** Instructions per stage, with continuation lines joined and heredoc bodies kept on the RUN. */
function parseStages(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  const lines = dockerfile.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\')) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
    const heredoc = /<<'?(\w+)'?/.exec(line);
    if (heredoc) {
      while (lines[++i] !== heredoc[1]) line += `\n${lines[i]}`;
    }
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1], name: from[2] ?? String(stages.length), instructions: [] });
    else if (stages.length > 0) stages[stages.length - 1].instructions.push(line);
  }
  return stages;
}

function heredocOf(instruction: string): string {
  return instruction.slice(instruction.indexOf('\n') + 1);
}

describe('examples/express/Dockerfile', () => {
  let dockerfile: string;
  let stages: Stage[];
  let build: Stage;
  let runtime: Stage;

  before(async () => {
    dockerfile = await readFile('examples/express/Dockerfile', 'utf8');
    stages = parseStages(dockerfile);
    build = stages.find((s) => s.name === 'build')!;
    runtime = stages[stages.length - 1];
  });

  it('builds in a build stage and runs from a separate runtime stage on the same Node base', () => {
    assert.deepEqual(stages.map((s) => s.name), ['build', 'runtime']);
    assert.equal(build.from, runtime.from);
    assert.match(build.from, /^node:\$\{NODE_VERSION\}-/);
    assert.match(dockerfile, /^ARG NODE_VERSION=20$/m);
  });

  it('installs everything and compiles in the build stage', () => {
    const runs = build.instructions.filter((i) => i.startsWith('RUN'));
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit')));
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r)));
  });

  it('installs production dependencies only in the runtime stage, and takes no node_modules from the build', () => {
    assert.ok(runtime.instructions.some((i) => /^RUN npm ci --omit=dev\b/.test(i)));
    for (const copy of runtime.instructions.filter((i) => i.startsWith('COPY'))) {
      assert.match(copy, /--from=build \/out\//);
    }
    const assemble = build.instructions.find((i) => i.includes('/out'))!;
    assert.match(assemble, /--exclude=\.\/node_modules/);
  });

  it('runs as the non-root node user, exposes 3000 and starts the example directly with node', () => {
    const users = runtime.instructions.filter((i) => i.startsWith('USER'));
    assert.deepEqual(users, ['USER node']);
    const userIndex = runtime.instructions.indexOf('USER node');
    const cmdIndex = runtime.instructions.findIndex((i) => i.startsWith('CMD'));
    assert.ok(userIndex < cmdIndex);
    assert.ok(runtime.instructions.includes('EXPOSE 3000'));
    assert.equal(runtime.instructions[cmdIndex], 'CMD ["node", "--import", "tsx", "examples/express/server.ts"]');
  });

  it('builds a runtime manifest that keeps the locked ranges and drops every devDependency', async () => {
    const manifestRun = build.instructions.find((i) => i.includes("node <<'EOF'"))!;
    const work = await mkdtemp(join(tmpdir(), 'symphony-docker-'));
    try {
      const pkg = JSON.parse(await readFile('package.json', 'utf8'));
      await writeFile(join(work, 'package.json'), JSON.stringify(pkg));
      await mkdir(join(work, 'runtime-manifest'));
      await writeFile(join(work, 'manifest.cjs'), heredocOf(manifestRun));
      await run(process.execPath, ['manifest.cjs'], { cwd: work });
      const manifest = JSON.parse(await readFile(join(work, 'runtime-manifest', 'package.json'), 'utf8'));
      assert.equal(manifest.devDependencies, undefined);
      for (const [name, range] of Object.entries(pkg.dependencies as Record<string, string>)) {
        assert.equal(manifest.dependencies[name], range);
      }
      for (const name of ['express', 'tsx', 'ioredis', 'pg', '@aws-sdk/client-s3', '@aws-sdk/client-dynamodb']) {
        assert.equal(manifest.dependencies[name], pkg.dependencies?.[name] ?? pkg.devDependencies[name], name);
      }
      for (const name of ['typescript', 'mocha', 'aws-cdk-lib', 'eslint']) {
        assert.equal(manifest.dependencies[name], undefined, name);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('keeps local state and dependencies out of the build context', async () => {
    const ignored = (await readFile('.dockerignore', 'utf8')).split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', '.git', 'dist', 'cdk.out', '.symphony-data', '.env']) {
      assert.ok(ignored.includes(entry), `.dockerignore lacks ${entry}`);
    }
  });
});
