// The second peer of `make bench` (issue 20): node oidc-provider (version pinned in
// package-lock.json) on loopback, as its documentation recommends for more than one
// process: the Redis adapter (redis_adapter.mjs) and node's cluster module, one worker a
// core. Started by scripts/bench/run:
//   node server.mjs setup DIR PORT REDIS_URL [WORKERS]
//       writes DIR/op.json (keys, client secrets, password hashes: 0600) and DIR/bench.json
//       (what the runner and driver.py need: endpoints, client ids and secrets, the user)
//   node server.mjs serve DIR/op.json
//       the primary forks WORKERS workers sharing the port; SIGTERM to the primary stops
//       them all (a worker also exits when its primary is gone)
// Configuration (the same shape as authd's and Glewlwyd's in the bench):
//   - ES256 only: one P-256 key, ID tokens and JWT access tokens signed ES256;
//   - JWT access tokens through resource indicators: defaultResource urn:bench:api, whose
//     getResourceServerInfo says accessTokenFormat 'jwt'; urn:bench:opaque gives opaque
//     (stored) tokens, the only ones its introspection endpoint can answer for;
//   - clients: bench-cc (client_credentials), bench-code (code + PKCE S256, refresh tokens),
//     both client_secret_basic;
//   - a minimal interaction (no devInteractions): GET /interaction/:uid says which prompt,
//     POST /interaction/:uid/login checks the account's password (scrypt N=2^14, r=8:
//     16 MiB, near authd's argon2id at 19 MiB), POST /interaction/:uid/confirm grants the
//     requested scopes; findAccount looks the account up in the users of op.json.
import cluster from 'node:cluster';
import * as crypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';

const scrypt = promisify(crypto.scrypt);
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const API = 'urn:bench:api';
const OPAQUE = 'urn:bench:opaque';
const REDIRECT = 'http://127.0.0.1/cb';

async function hash(pw) {
  const salt = crypto.randomBytes(16);
  const h = await scrypt(pw, salt, 32, SCRYPT);
  return `${salt.toString('base64url')}$${h.toString('base64url')}`;
}

async function verify(pw, stored) {
  const [s, h] = stored.split('$');
  const got = await scrypt(pw, Buffer.from(s, 'base64url'), 32, SCRYPT);
  const want = Buffer.from(h, 'base64url');
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

async function setup(dir, port, redis, workers) {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };
  const secret = () => crypto.randomBytes(24).toString('base64url');
  const users = [];
  for (let i = 1; i <= 5; i += 1) users.push({ id: `citizen${i}`, password: secret() });
  const issuer = `http://127.0.0.1:${port}`;
  const op = {
    issuer, port, redis, workers,
    jwks: { keys: [jwk] },
    cookieKeys: [secret(), secret()],
    cc: { client_id: 'bench-cc', client_secret: secret() },
    code: { client_id: 'bench-code', client_secret: secret() },
    users: await Promise.all(users.map(async (u) => ({ id: u.id, hash: await hash(u.password) }))),
  };
  writeFileSync(join(dir, 'op.json'), JSON.stringify(op), { mode: 0o600 });
  const bench = {
    url: issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    jwks: `${issuer}/jwks`,
    token: `${issuer}/token`,
    introspect: `${issuer}/token/introspection`,
    authorize: `${issuer}/auth`,
    cc: { ...op.cc, scope: 'api', resource: API, opaque_resource: OPAQUE },
    code: { ...op.code, redirect_uri: REDIRECT, scope: 'openid api', resource: API },
    users,
  };
  writeFileSync(join(dir, 'bench.json'), JSON.stringify(bench, null, 1), { mode: 0o600 });
}

async function readForm(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 16384) throw new Error('form too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function serve(path) {
  const op = JSON.parse(readFileSync(path, 'utf8'));
  const { default: Provider, errors } = await import('oidc-provider');
  let adapter;
  if (op.redis) {
    const ra = await import('./redis_adapter.mjs');
    ra.connect(op.redis);
    adapter = ra.default;
  }
  const users = new Map(op.users.map((u) => [u.id, u]));
  const server = {
    scope: 'api',
    accessTokenTTL: 600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  };
  const provider = new Provider(op.issuer, {
    adapter,
    clients: [
      {
        ...op.cc,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
      {
        ...op.code,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: op.jwks,
    cookies: { keys: op.cookieKeys },
    async findAccount(ctx, id) {
      if (!users.has(id)) return undefined;
      return { accountId: id, async claims() { return { sub: id }; } };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client, oneOf) { return oneOf || API; },
        async useGrantedResource() { return true; },
        async getResourceServerInfo(ctx, indicator) {
          if (indicator === API) return server;
          if (indicator === OPAQUE) return { scope: 'api', accessTokenTTL: 600, accessTokenFormat: 'opaque' };
          throw new errors.InvalidTarget();
        },
      },
    },
    // authd and Glewlwyd give the code client a refresh token without offline_access
    async issueRefreshToken(ctx, client) { return client.grantTypeAllowed('refresh_token'); },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, IdToken: 600,
      RefreshToken: 30 * 86400, Grant: 30 * 86400, Session: 8 * 3600, Interaction: 600,
    },
  });

  provider.use(async (ctx, next) => {
    const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/confirm)?$/);
    if (!m) return next();
    ctx.set('cache-control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET' && !m[2]) {
      ctx.type = 'text/plain';
      ctx.body = `prompt=${details.prompt.name}\n`;
      return undefined;
    }
    if (ctx.method !== 'POST') return next();
    const form = await readForm(ctx.req);
    let result;
    if (m[2] === '/login' && details.prompt.name === 'login') {
      const u = users.get(form.get('login') || '');
      if (!u || !(await verify(form.get('password') || '', u.hash))) {
        ctx.status = 401;
        ctx.body = 'bad login\n';
        return undefined;
      }
      result = { login: { accountId: u.id } };
    } else if (m[2] === '/confirm' && details.prompt.name === 'consent') {
      const { prompt: { details: d }, params, session: { accountId } } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [ind, sc] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(ind, sc.join(' '));
      }
      const grantId = await grant.save();
      result = { consent: details.grantId ? {} : { grantId } };
    } else {
      ctx.status = 400;
      ctx.body = `unexpected ${m[2]} for prompt ${details.prompt.name}\n`;
      return undefined;
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
    return undefined;
  });

  const http = provider.listen(op.port, '127.0.0.1');
  http.keepAliveTimeout = 65000;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'setup') {
  const [dir, port, redis, workers] = args;
  await setup(dir, Number(port), redis || '', Number(workers || 2));
} else if (cmd === 'serve') {
  const op = JSON.parse(readFileSync(args[0], 'utf8'));
  if (cluster.isPrimary && op.workers > 1) {
    const ws = [];
    for (let i = 0; i < op.workers; i += 1) ws.push(cluster.fork());
    let stopping = false;
    const stop = () => {
      stopping = true;
      for (const w of ws) w.process.kill('SIGTERM');
      setTimeout(() => process.exit(0), 500).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    cluster.on('exit', (w, code) => {
      if (!stopping) {
        console.error(`oidc-provider worker ${w.process.pid} exited (${code}): stopping`);
        stop();
      }
    });
  } else {
    if (cluster.isWorker) process.on('disconnect', () => process.exit(0));
    await serve(args[0]);
  }
} else {
  console.error('usage: node server.mjs setup DIR PORT REDIS_URL [WORKERS] | serve DIR/op.json');
  process.exit(2);
}
